// The backend of a single-page app served from another origin: its own login, prolong
// under /auth, a protected API, and CORS for the app's origin (and that one only).
// After `npm install` in the repository: node examples/spa-cross-origin/api.mjs
import { createProlong } from "@prolong/server";
import { createVerifier } from "@prolong/verify";
import { expressGuard } from "@prolong/verify/express";
import express from "express";
import { checkPassword, userById } from "./users.mjs";

const port = Number(process.env.API_PORT ?? 3003);
const issuer = `http://localhost:${port}/auth`;
// Same site as the API (only the port differs), so the SameSite=Strict cookie still flows.
const spaOrigin = process.env.SPA_ORIGIN ?? "http://localhost:4000";

const prolong = await createProlong({
  issuer,
  store: process.env.STORE ?? "sqlite:./data/spa-cross-origin.db",
  allowedOrigins: [spaOrigin], // prolong's own routes answer the app's origin, with credentials
  profiles: { web: { accessTokenTtl: Number(process.env.ACCESS_TOKEN_TTL ?? 300) } },
  logLevel: "warn",
});
const verifier = await createVerifier({
  issuer,
  audience: "prolong",
  jwksUri: `${issuer}/.well-known/jwks.json`,
});

// Your own routes need CORS for the app too: credentials for the login's cookie, and the
// headers the client SDK reads (the 401's challenge, the soft-expiry hint).
function cors(req, res, next) {
  res.vary("Origin");
  if (req.headers.origin !== spaOrigin) return next();
  res.set({
    "access-control-allow-origin": spaOrigin,
    "access-control-allow-credentials": "true",
    "access-control-expose-headers": "www-authenticate, prolong-refresh",
  });
  if (req.method !== "OPTIONS") return next();
  res.set({
    "access-control-allow-methods": "GET, POST",
    "access-control-allow-headers": "content-type, authorization",
    "access-control-max-age": "600",
  });
  res.status(204).end();
}

const app = express();
app.use(express.json());
app.use("/auth", prolong.expressHandler());
app.use(["/login", "/api"], cors);

app.post("/login", async (req, res) => {
  const { username, password, deviceName } = req.body ?? {};
  const user = await checkPassword(username, password);
  if (!user) return res.status(401).json({ error: "wrong username or password" });
  res.json(await prolong.startSession(res, { subject: user.id, deviceName }));
});

app.get("/api/me", expressGuard(verifier), (_req, res) => {
  const user = userById(res.locals.auth.sub);
  res.json({ id: user?.id, name: user?.name, session: res.locals.auth.sid });
});

const server = app.listen(port, "localhost", () => {
  console.log(`spa-cross-origin API: http://localhost:${port}/ (for pages from ${spaOrigin})`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => server.close(() => prolong.close()));
}
