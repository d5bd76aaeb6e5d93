import type { Config } from "@react-router/dev/config";

export default {
  ssr: true,
  // Middleware runs before any loader or action, so the session is renewed once per
  // request and every loader reads the same one from the router context.
  future: { v8_middleware: true },
} satisfies Config;
