import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [sveltekit()],
  // prolong's server and its SQLite driver stay Node modules loaded at run time, not bundled.
  ssr: { external: ["@prolong/server", "better-sqlite3"] },
});
