// An Express app with its own login, where prolong keeps users signed in.
// After `npm install` in the repository: node examples/express-own-login/server.mjs
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createProlong } from "@prolong/server";
import { createVerifier } from "@prolong/verify";
import { expressGuard } from "@prolong/verify/express";
import { build } from "esbuild";
import express from "express";
import { checkPassword, userById } from "./users.mjs";

const port = Number(process.env.PORT ?? 3001);
const issuer = `http://localhost:${port}/auth`;

// prolong, from the same settings `prolong serve` takes, its routes mounted under /auth.
const prolong = await createProlong({
  issuer,
  store: process.env.STORE ?? "sqlite:./data/express-own-login.db",
  profiles: { web: { accessTokenTtl: Number(process.env.ACCESS_TOKEN_TTL ?? 300) } },
  logLevel: "warn",
});

// Your API checks access tokens on its own, with prolong's public keys.
const verifier = await createVerifier({
  issuer,
  audience: "prolong",
  jwksUri: `${issuer}/.well-known/jwks.json`,
});

const app = express();
app.use(express.json());
app.use("/auth", prolong.expressHandler());

// Your login: check the user your way, then start a prolong session for your user id.
app.post("/login", async (req, res) => {
  const { username, password, deviceName, client = "web" } = req.body ?? {};
  if (client !== "web" && client !== "native") return res.status(400).json({ error: "unknown client" });
  const user = await checkPassword(username, password);
  if (!user) return res.status(401).json({ error: "wrong username or password" });
  res.json(await prolong.startSession(res, { subject: user.id, deviceName, client }));
});

// A protected route: a valid access token or a 401; its claims in res.locals.auth.
app.get("/api/me", expressGuard(verifier), (_req, res) => {
  const user = userById(res.locals.auth.sub);
  res.json({ id: user?.id, name: user?.name, session: res.locals.auth.sid });
});

// The page, its script bundled once at start-up with @prolong/client inside.
const page = (file) => fileURLToPath(new URL(`page/${file}`, import.meta.url));
const bundle = await build({ entryPoints: [page("app.mjs")], bundle: true, format: "esm", write: false });
const script = bundle.outputFiles[0].text;
const html = await readFile(page("index.html"), "utf8");
app.get("/", (_req, res) => res.type("html").send(html));
app.get("/app.js", (_req, res) => res.type("js").send(script));

const server = app.listen(port, "localhost", () => {
  console.log(`express-own-login: http://localhost:${port}/ (maryo, "correct horse battery")`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => server.close(() => prolong.close()));
}
