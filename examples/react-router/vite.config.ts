import { reactRouter } from "@react-router/dev/vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [reactRouter()],
  // prolong's packages are workspace links, which Vite would bundle as if they were app
  // source; loaded from node_modules at run time instead, like any other Node package.
  ssr: { external: ["@prolong/server", "@prolong/ssr"] },
});
