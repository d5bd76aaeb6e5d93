import type { AccessTokenClaims } from "@prolong/protocol";
import { ProlongError } from "../errors.js";
import { accessTokenStanding } from "../session-rules.js";
import type { SessionRecord } from "../store/index.js";
import { sessionOfAccessToken } from "./access-token-session.js";
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
  const found = await sessionOfAccessToken(ctx, accessToken);
  if (!found) throw new ProlongError("session_revoked", "session was revoked");
  const { claims, session, subject } = found;
  await admit(ctx, session, accessTokenStanding(claims, session, subject, ctx.clock.now()));
  return { claims, session };
}
