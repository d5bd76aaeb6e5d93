import type { ServerSession } from "@prolong/ssr";

declare global {
  namespace App {
    interface Locals {
      /** The signed-in session, renewed if it had to be before this request rendered (hooks.server.ts). */
      session: ServerSession | null;
    }
  }
}
