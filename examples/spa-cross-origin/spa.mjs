// Serves the single-page app on its own origin, as a CDN or `vite preview` would: the page
// and its script, bundled at start-up with the API's address built in.
// After `npm install` in the repository: node examples/spa-cross-origin/spa.mjs
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const port = Number(process.env.SPA_PORT ?? 4000);
const apiOrigin = process.env.API_ORIGIN ?? "http://localhost:3003";

const page = (file) => fileURLToPath(new URL(`page/${file}`, import.meta.url));
const bundle = await build({
  entryPoints: [page("app.mjs")],
  bundle: true,
  format: "esm",
  write: false,
  define: { API_ORIGIN: JSON.stringify(apiOrigin) },
});
const files = new Map([
  ["/", ["text/html; charset=utf-8", await readFile(page("index.html"), "utf8")]],
  ["/app.js", ["text/javascript; charset=utf-8", bundle.outputFiles[0].text]],
]);

const server = createServer((req, res) => {
  const file = files.get(new URL(req.url, "http://localhost").pathname);
  if (!file) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": file[0] }).end(file[1]);
});
server.listen(port, "localhost", () => {
  console.log(`spa-cross-origin SPA: http://localhost:${port}/ (API at ${apiOrigin})`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.close());
