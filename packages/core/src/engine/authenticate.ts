import type { AccessTokenClaims } from "@prolong/protocol";
import { ProlongError } from "../errors.js";
import type { SessionRecord } from "../store/index.js";
import { admit } from "./admission.js";
import type { EngineContext } from "./context.js";

/** Who called a bearer-protected route. */
export interface Caller {
  claims: AccessTokenClaims;
  session: SessionRecord;
}

/**
 * Checks an access token for the server's own bearer-protected routes: signature and
 * claims, then the standing of its session, so logout, disabling and a re-auth request
 * take effect there at once.
 */
export async function authenticate(ctx: EngineContext, accessToken: string): Promise<Caller> {
  const claims = await ctx.checkToken(accessToken);
  const found = await ctx.store.sessions.readSession(claims.sid);
  if (!found || found.session.subjectId !== claims.sub) {
    throw new ProlongError("session_revoked", "session was revoked");
  }
  await admit(ctx, found.session, found.subject, ctx.clock.now());
  // A token minted before "log out everywhere" names an older version than its subject's.
  if (claims.ver < found.subject.tokenVersion) {
    throw new ProlongError("session_revoked", "session was revoked");
  }
  return { claims, session: found.session };
}
