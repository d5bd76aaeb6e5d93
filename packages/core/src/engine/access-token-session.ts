import type { AccessTokenClaims } from "@prolong/protocol";
import { isProlongError } from "../errors.js";
import type { SessionRecord, SubjectRecord } from "../store/index.js";
import type { EngineContext } from "./context.js";

/** An access token that checked out, with the session it speaks for and that session's subject. */
export interface AccessTokenSession {
  claims: AccessTokenClaims;
  session: SessionRecord;
  subject: SubjectRecord;
}

/**
 * Checks an access token (signature and claims; throws its `ProlongError` when it fails)
 * and reads the session its `sid` names. `null` when no such session is stored or it is
 * another subject's: a token that cannot speak for any session. Standing is the caller's
 * next step (`accessTokenStanding`), so each caller keeps its own order of checks.
 */
export async function sessionOfAccessToken(
  ctx: EngineContext,
  accessToken: string,
): Promise<AccessTokenSession | null> {
  const claims = await ctx.checkToken(accessToken);
  const found = await ctx.store.sessions.readSession(claims.sid);
  if (!found || found.session.subjectId !== claims.sub) return null;
  return { claims, session: found.session, subject: found.subject };
}

/**
 * A token found by trying both kinds, in the order a `token_type_hint` asks for: RFC 7009
 * §2.1 and RFC 7662 §2.1 let the hint only order the look-ups, never narrow them. Each
 * look-up answers `null` for a token that is not of its kind; an access-token look-up
 * whose checks refuse the token (a `ProlongError`) counts as that too.
 */
export async function lookUpByHint<T>(
  hint: string | undefined,
  asRefresh: () => Promise<T | null> | T | null,
  asAccess: () => Promise<T | null>,
): Promise<T | null> {
  const access = async () => {
    try {
      return await asAccess();
    } catch (error) {
      if (isProlongError(error)) return null;
      throw error;
    }
  };
  return hint === "access_token"
    ? ((await access()) ?? (await asRefresh()))
    : ((await asRefresh()) ?? (await access()));
}
