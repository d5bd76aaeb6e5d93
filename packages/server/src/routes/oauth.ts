import { isProlongError, profileOf, type RefreshTransport } from "@prolong/core";
import {
  DBSC_COOKIE,
  DBSC_REGISTRATION_HEADER,
  ENDPOINT_PATHS,
  GRANT_TYPE_HANDOFF,
  GRANT_TYPE_REFRESH_TOKEN,
  GRANT_TYPE_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN,
} from "@prolong/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context.js";
import { isResourceServer, passesCsrfCheck, readCookie } from "../credentials.js";
import { isProofFailure } from "../dpop.js";
import { isGrantFailure, sendGrantError, sendOAuthError, sendRateLimited } from "../http-errors.js";
import { secondsUntil } from "../rate-limit.js";
import { NO_STORE, sendTokens } from "../token-response.js";

const FORM = ["application/x-www-form-urlencoded"] as const;

type Form = Record<string, string | undefined>;

const formOf = (request: FastifyRequest): Form => (request.body ?? {}) as Form;

export function oauthRoutes(ctx: AppContext) {
  const { limits } = ctx;

  /**
   * The token a request presents: the form field, else the web profile's cookie, which
   * only counts with the anti-CSRF header and an allowed Origin ("csrf" otherwise).
   */
  function tokenOf(request: FastifyRequest, field: string | undefined) {
    if (field !== undefined) return { token: field, fromCookie: false };
    const cookie = readCookie(request, ctx.cookies.refreshName);
    if (!cookie) return null;
    return passesCsrfCheck(request, ctx.origins) ? { token: cookie, fromCookie: true } : ("csrf" as const);
  }

  /** The 429 of a session over its grant budget (limits.ts), or `null` for any other error. */
  function sessionLimited(reply: FastifyReply, error: unknown) {
    if (!isProlongError(error, "rate_limited") || error.retryAt === undefined) return null;
    return sendRateLimited(reply, secondsUntil(error.retryAt, ctx.engine.now()), { oauth: true });
  }

  function refuseCrossSite(reply: FastifyReply) {
    return sendOAuthError(
      reply,
      403,
      "invalid_request",
      "cookie requests need the Prolong-CSRF header and our origin",
    );
  }

  /** RFC 6749 §6 refresh: the token from the form (native) or the cookie (web, CSRF-checked). */
  async function refreshGrant(request: FastifyRequest, reply: FastifyReply, form: Form) {
    const presented = tokenOf(request, form.refresh_token);
    if (presented === "csrf") return refuseCrossSite(reply);
    const clientId = form.client_id;
    if (!presented && clientId === undefined)
      return sendOAuthError(reply, 400, "invalid_request", "refresh_token is required");
    if (clientId === undefined) return sendOAuthError(reply, 400, "invalid_request", "client_id is required");
    let transport: RefreshTransport;
    try {
      transport = profileOf(ctx.engine.policy, clientId).refreshTransport;
    } catch {
      return sendOAuthError(reply, 401, "invalid_client", "unknown client_id");
    }
    if (!presented) {
      // A browser without the cookie holds no session: every signed-out page load of a web
      // app asks, so the answer is not an error, which browsers would log as a failed
      // request each time (docs/protocol.md, "Web profile: the refresh cookie"). Only for
      // the client's own cookie request: a form post from another site stays a 400.
      if (transport === "cookie" && passesCsrfCheck(request, ctx.origins))
        return reply.code(204).headers(NO_STORE).send();
      return sendOAuthError(reply, 400, "invalid_request", "refresh_token is required");
    }
    const { token, fromCookie } = presented;
    // Checked whatever the profile's mode, so a session bound while it took DPoP keeps
    // refreshing should it stop (dpop.ts); a bad proof is the request's fault only.
    let proofJkt: string | null;
    try {
      proofJkt =
        (
          await ctx.dpop.read(request, ENDPOINT_PATHS.token, ctx.dpop.modeOf(clientId), {
            checkedWhenOff: true,
          })
        )?.jkt ?? null;
    } catch (error) {
      return sendGrantError(reply, error);
    }
    // The tag tells a token we issued from one we did not, without the store (limits.ts):
    // the first kind is limited per session only, the second counts against the address.
    // Opened once: the engine takes the opened token as it is.
    const opened = ctx.engine.openRefreshToken(token);
    if (opened === null) {
      const wait = await limits.grantFailed(request.ip);
      if (wait > 0) return sendRateLimited(reply, wait, { oauth: true });
    }
    try {
      // One store call: the rotation checks and spends the session's budget itself, so a
      // refused refresh rotates nothing, and a counted one cannot lose its count. Replays
      // inside the grace window are free (twenty tabs waking at once); a straggler's answer
      // and a failed grant count (RotateOutcome in @prolong/core).
      const tokens = await ctx.engine.refresh({
        refreshToken: opened ?? token,
        clientId,
        budget: limits.sessionBudget,
        // A session whose browser registered a DBSC key refreshes only with its bound
        // cookie (docs/bound-sessions.md); checked here, where the cookie is, for the
        // session the token names (the token itself is checked by the refresh).
        deviceBound:
          opened !== null && ctx.binding.cookies.vouches(readCookie(request, DBSC_COOKIE), opened.sessionId),
        proofJkt,
      });
      return sendTokens(reply, tokens, ctx.engine.now(), ctx.cookies);
    } catch (error) {
      const limited = sessionLimited(reply, error);
      if (limited) return limited;
      ctx.metrics.refreshes.inc({ outcome: isProlongError(error) ? error.code : "error" });
      // A dead session's cookie is useless to keep; the client starts over. Only then:
      // a failure of ours (store down, a bug) must never sign anyone out.
      if (fromCookie && isGrantFailure(error)) reply.header("set-cookie", ctx.cookies.cleared());
      return sendGrantError(reply, error);
    }
  }

  /** P10 as RFC 8693 token exchange: an access token in, a fresh one for the same session out. */
  async function exchangeGrant(request: FastifyRequest, reply: FastifyReply, form: Form) {
    if (!form.subject_token || form.subject_token_type !== TOKEN_TYPE_ACCESS_TOKEN) {
      return sendOAuthError(
        reply,
        400,
        "invalid_request",
        `subject_token of type ${TOKEN_TYPE_ACCESS_TOKEN} is required`,
      );
    }
    if (form.requested_token_type !== undefined && form.requested_token_type !== TOKEN_TYPE_ACCESS_TOKEN) {
      return sendOAuthError(reply, 400, "invalid_request", "only access tokens can be requested");
    }
    let proofJkt: string | null;
    try {
      // Without a client_id the token's client decides: the engine refuses a required one without a proof.
      proofJkt =
        (await ctx.dpop.read(request, ENDPOINT_PATHS.token, ctx.dpop.modeOf(form.client_id)))?.jkt ?? null;
    } catch (error) {
      return sendGrantError(reply, error);
    }
    try {
      // The session's budget, shared with its refreshes, is checked and spent by the
      // same store call that records the activity.
      const tokens = await ctx.engine.exchange({
        accessToken: form.subject_token,
        ...(form.client_id === undefined ? {} : { clientId: form.client_id }),
        budget: limits.sessionBudget,
        proofJkt,
      });
      reply.header("cache-control", "no-store").header("pragma", "no-cache");
      return reply.send({
        access_token: tokens.accessToken,
        issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        token_type: tokens.tokenType,
        expires_in: tokens.expiresIn,
        session_id: tokens.sessionId,
      });
    } catch (error) {
      const limited = sessionLimited(reply, error);
      if (limited) return limited;
      // A valid access token always gets through; only failures spend the address's budget.
      if (isProlongError(error) && !isProofFailure(error)) {
        const overBy = await limits.grantFailed(request.ip);
        if (overBy > 0) return sendRateLimited(reply, overBy, { oauth: true });
      }
      return sendGrantError(reply, error);
    }
  }

  /**
   * The handoff grant (docs/protocol.md, "Handoff grant"): the browser redeems the
   * one-time code its backend got from `POST /admin/sessions`, and this answer sets the
   * refresh cookie, so the refresh token never passes through the backend's JSON, a URL
   * or the page's script. It needs the anti-CSRF header and an allowed Origin like any
   * cookie request: a foreign page must not sign the browser in with a code of its own
   * (login CSRF).
   */
  async function handoffGrant(request: FastifyRequest, reply: FastifyReply, form: Form) {
    if (!passesCsrfCheck(request, ctx.origins)) return refuseCrossSite(reply);
    if (form.code === undefined) return sendOAuthError(reply, 400, "invalid_request", "code is required");
    const clientId = form.client_id;
    if (clientId === undefined) return sendOAuthError(reply, 400, "invalid_request", "client_id is required");
    let dpopJkt: string | null;
    try {
      // Read before the code is taken, so a bad proof does not spend the code.
      dpopJkt = (await ctx.dpop.read(request, ENDPOINT_PATHS.token, ctx.dpop.modeOf(clientId)))?.jkt ?? null;
    } catch (error) {
      return sendGrantError(reply, error);
    }
    try {
      const tokens = await ctx.engine.redeemHandoff({
        code: form.code,
        clientId,
        userAgent: request.headers["user-agent"] ?? null,
        ip: request.ip,
        dpopJkt,
      });
      // DBSC (docs/bound-sessions.md): a browser that supports it registers a key now.
      const registration = ctx.binding.registration(tokens);
      if (registration !== null) reply.header(DBSC_REGISTRATION_HEADER, registration);
      return sendTokens(reply, tokens, ctx.engine.now(), ctx.cookies);
    } catch (error) {
      // Codes are 256 random bits: one that redeems nothing (unknown, used, late, another
      // client's) is a mistake or a probe, and spends the address's budget like a refresh
      // token we never issued (limits.ts). A genuine code refused for its user is not.
      if (isProlongError(error, "invalid_grant")) {
        const overBy = await limits.grantFailed(request.ip);
        if (overBy > 0) return sendRateLimited(reply, overBy, { oauth: true });
      }
      return sendGrantError(reply, error);
    }
  }

  return async (app: FastifyInstance) => {
    app.post(ENDPOINT_PATHS.token, { config: { accepts: FORM, oauth: true } }, async (request, reply) => {
      const form = formOf(request);
      await ctx.dpop.offerNonce(reply);
      switch (form.grant_type) {
        case GRANT_TYPE_REFRESH_TOKEN:
          return refreshGrant(request, reply, form);
        case GRANT_TYPE_TOKEN_EXCHANGE:
          return exchangeGrant(request, reply, form);
        case GRANT_TYPE_HANDOFF:
          return handoffGrant(request, reply, form);
        case undefined:
          return sendOAuthError(reply, 400, "invalid_request", "grant_type is required");
        default:
          return sendOAuthError(reply, 400, "unsupported_grant_type", "grant_type is not supported");
      }
    });

    // RFC 7009: 200 whether or not the token was known (§2.2), so the answer leaks nothing.
    app.post(
      ENDPOINT_PATHS.revocation,
      { config: { accepts: FORM, oauth: true } },
      async (request, reply) => {
        const form = formOf(request);
        const presented = tokenOf(request, form.token);
        if (presented === "csrf") return refuseCrossSite(reply);
        if (!presented) return sendOAuthError(reply, 400, "invalid_request", "token is required");
        const { token, fromCookie } = presented;
        await ctx.dpop.offerNonce(reply);
        try {
          const proof = await ctx.dpop.read(
            request,
            ENDPOINT_PATHS.revocation,
            ctx.dpop.modeOf(form.client_id),
          );
          await ctx.engine.revokeToken({
            token,
            ...(form.token_type_hint === undefined ? {} : { tokenTypeHint: form.token_type_hint }),
            ...(form.client_id === undefined ? {} : { clientId: form.client_id }),
            proofJkt: proof?.jkt ?? null,
          });
        } catch (error) {
          if (isProofFailure(error)) return sendOAuthError(reply, 400, error.code, error.message);
          throw error;
        }
        if (fromCookie) reply.header("set-cookie", ctx.cookies.cleared());
        return reply.headers(NO_STORE).send({});
      },
    );

    // RFC 7662 §2.1: only authenticated resource servers may ask.
    app.post(
      ENDPOINT_PATHS.introspection,
      { config: { accepts: FORM, oauth: true } },
      async (request, reply) => {
        if (!isResourceServer(request, ctx.resourceSecret)) {
          reply.header("www-authenticate", 'Basic realm="prolong"');
          return sendOAuthError(reply, 401, "invalid_client", "resource server authentication failed");
        }
        const form = formOf(request);
        if (!form.token) return sendOAuthError(reply, 400, "invalid_request", "token is required");
        const answer = await ctx.engine.introspect(form.token, form.token_type_hint);
        return reply.header("cache-control", "no-store").send(answer);
      },
    );
  };
}
