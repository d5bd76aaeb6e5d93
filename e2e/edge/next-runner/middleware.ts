/**
 * The whole app: Next.js middleware, on its default runtime (Edge), that runs the
 * verifier's cases (../cases.ts) posted to `/cases` and reads the session of the Cookie
 * header sent to `/session` with @prolong/ssr, answering both as JSON. Each answer also
 * says where it ran, so the test can see it was the Edge runtime and not Node.
 */
import { createServerSessions, type ServerSessions } from "@prolong/ssr";
import type { NextRequest } from "next/server.js";
// By the `imports` of e2e/edge/package.json: Next's bundler does not read `../cases.js`
// as the TypeScript file, as tsc does.
import { type CaseInput, runCases } from "#cases";

declare const EdgeRuntime: string | undefined;

interface MaybeNodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (name: string) => unknown;
}

/**
 * What the runtime offers: Next's Edge runtime names itself in `EdgeRuntime`, and its
 * `process` has neither Node's version nor a way to Node's modules (its functions throw).
 */
function runtime() {
  const process = (globalThis as { process?: MaybeNodeProcess }).process;
  let nodeCrypto = false;
  try {
    nodeCrypto = Boolean(process?.getBuiltinModule?.("node:crypto"));
  } catch {
    // Not there: the Edge runtime's stub refuses every Node.js API.
  }
  return {
    edgeRuntime: typeof EdgeRuntime === "string" ? EdgeRuntime : null,
    nodeVersion: process?.versions?.node ?? null,
    nodeCrypto,
  };
}

// One per process, as an app would keep it: the issuer's JWKS is fetched once and cached.
let sessions: ServerSessions | null = null;

export async function middleware(request: NextRequest): Promise<Response> {
  const { pathname } = request.nextUrl;
  if (pathname === "/cases" && request.method === "POST") {
    const output = await runCases((await request.json()) as CaseInput);
    return Response.json({ runtime: runtime(), output });
  }
  if (pathname === "/session") {
    const issuer = process.env.PROLONG_ISSUER;
    if (!issuer) return Response.json({ error: "PROLONG_ISSUER is not set" }, { status: 500 });
    sessions ??= createServerSessions({ issuer });
    const session = await sessions.getSession(request.headers.get("cookie") ?? "");
    return Response.json({
      runtime: runtime(),
      session: session && {
        subject: session.subject,
        sessionId: session.sessionId,
        expiresAt: session.expiresAt,
      },
    });
  }
  return Response.json({ error: "not found" }, { status: 404 });
}
