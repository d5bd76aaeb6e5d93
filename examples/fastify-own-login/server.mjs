// A Fastify app with its own login, where prolong keeps users signed in.
// After `npm install` in the repository: node examples/fastify-own-login/server.mjs
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createProlong } from "@prolong/server";
import { createVerifier } from "@prolong/verify";
import { fastifyGuard } from "@prolong/verify/fastify";
import { build } from "esbuild";
import Fastify from "fastify";
import { checkPassword, userById } from "./users.mjs";

const port = Number(process.env.PORT ?? 3002);
const issuer = `http://localhost:${port}/auth`;

// prolong, from the same settings `prolong serve` takes, its routes registered under /auth.
const prolong = await createProlong({
  issuer,
  store: process.env.STORE ?? "sqlite:./data/fastify-own-login.db",
  profiles: { web: { accessTokenTtl: Number(process.env.ACCESS_TOKEN_TTL ?? 300) } },
  logLevel: "warn",
});

// Your API checks access tokens on its own, with prolong's public keys.
const verifier = await createVerifier({
  issuer,
  audience: "prolong",
  jwksUri: `${issuer}/.well-known/jwks.json`,
});

const app = Fastify();
await app.register(prolong.fastifyPlugin, { prefix: "/auth" });
app.addHook("onClose", () => prolong.close());

// Your login: check the user your way, then start a prolong session for your user id.
const loginBody = {
  type: "object",
  required: ["username", "password"],
  properties: {
    username: { type: "string" },
    password: { type: "string" },
    deviceName: { type: "string" },
    client: { enum: ["web", "native"] },
  },
};
app.post("/login", { schema: { body: loginBody } }, async (request, reply) => {
  const { username, password, deviceName, client = "web" } = request.body;
  const user = await checkPassword(username, password);
  if (!user) return reply.code(401).send({ error: "wrong username or password" });
  return prolong.startSession(reply, { subject: user.id, deviceName, client });
});

// A protected route: a valid access token or a 401; its claims in request.auth.
app.get("/api/me", { preHandler: fastifyGuard(verifier) }, async (request) => {
  const user = userById(request.auth.sub);
  return { id: user?.id, name: user?.name, session: request.auth.sid };
});

// The page, its script bundled once at start-up with @prolong/client inside.
const page = (file) => fileURLToPath(new URL(`page/${file}`, import.meta.url));
const bundle = await build({ entryPoints: [page("app.mjs")], bundle: true, format: "esm", write: false });
const script = bundle.outputFiles[0].text;
const html = await readFile(page("index.html"), "utf8");
app.get("/", (_request, reply) => reply.type("text/html").send(html));
app.get("/app.js", (_request, reply) => reply.type("text/javascript").send(script));

await app.listen({ port, host: "localhost" });
console.log(`fastify-own-login: http://localhost:${port}/ (maryo, "correct horse battery")`);
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => app.close());
