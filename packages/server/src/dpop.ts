import type { IncomingHttpHeaders } from "node:http";
import { ProlongError, profileOf, type SessionEngine } from "@prolong/core";
import { DPOP_HEADER, DPOP_NONCE_HEADER, type DpopMode } from "@prolong/protocol";
import { checkDpopProof, type Proof, VerifyError } from "@prolong/verify";
import type { FastifyReply } from "fastify";
import type { DpopNonces } from "./dpop-nonce.js";

const HEADER = DPOP_HEADER.toLowerCase();

/** What a route knows of the request when it reads the proof. */
export interface ProofRequest {
  method: string;
  headers: IncomingHttpHeaders;
}

/**
 * Reads and checks the DPoP proof of a request to one of prolong's endpoints (RFC 9449
 * §4.3): `@prolong/verify`'s `checkDpopProof` against the endpoint's URL as the issuer
 * names it (never the `Host` header, which the client chooses: a proof made for another
 * server, or for a host name we do not serve, must not pass here), the server nonce
 * when nonces are on, and the proof's `jti` claimed once in the store, so a replayed
 * proof is refused by every instance on that store (RFC 9449 §11.1).
 */
export class DpopProofs {
  readonly #engine: SessionEngine;
  readonly #issuer: string;
  readonly #nonces: DpopNonces | null;

  constructor(engine: SessionEngine, issuer: string, nonces: DpopNonces | null) {
    this.#engine = engine;
    this.#issuer = issuer;
    this.#nonces = nonces;
  }

  /** The DPoP mode of a client, `null` for a client that is not configured (the route refuses it later). */
  modeOf(clientId: string | undefined): DpopMode | null {
    if (clientId === undefined) return null;
    try {
      return profileOf(this.#engine.policy, clientId).dpop;
    } catch {
      return null;
    }
  }

  /**
   * The request's checked proof, or `null` when none came. `path` is the endpoint's,
   * relative to the issuer (`ENDPOINT_PATHS`, or a bearer route's). `mode` is the
   * client's (`null` when the request names none): `off` ignores the header, except where
   * `checkedWhenOff` says (a refresh, so sessions bound while the profile took DPoP still
   * refresh after it stopped); `required` refuses a request without one. With an
   * `accessToken`, the proof's `ath` must be its hash (RFC 9449 §7). Throws
   * `invalid_dpop_proof` or `use_dpop_nonce` (a {@link ProlongError}).
   */
  async read(
    request: ProofRequest,
    path: string,
    mode: DpopMode | null,
    options: { checkedWhenOff?: boolean; accessToken?: string } = {},
  ): Promise<Proof | null> {
    if (mode === "off" && !options.checkedWhenOff) return null;
    const header = request.headers[HEADER];
    if (header === undefined) {
      if (mode === "required") throw invalidProof("a DPoP proof is required for this client");
      return null;
    }
    // RFC 9449 §4.3 point 1: exactly one proof. Node joins repeated headers with ", ".
    if (Array.isArray(header) || header.includes(",")) throw invalidProof("more than one DPoP header");
    let proof: Proof;
    try {
      proof = await checkDpopProof(header, {
        method: request.method,
        url: `${this.#issuer}${path}`,
        now: Math.floor(this.#engine.now() / 1000),
        ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
        ...(this.#nonces === null ? {} : { nonce: nonceCheck(this.#nonces) }),
      });
    } catch (error) {
      if (error instanceof VerifyError) {
        const code = error.code === "use_dpop_nonce" ? "use_dpop_nonce" : "invalid_dpop_proof";
        throw new ProlongError(code, error.message);
      }
      throw error;
    }
    if (!(await this.#engine.claimProof(proof))) throw invalidProof("the DPoP proof was already used");
    return proof;
  }

  /**
   * Hands out the current nonce (RFC 9449 §8.1, §8.2) on an answer of an endpoint that
   * takes proofs, errors included: `use_dpop_nonce` must carry it, and on the others it
   * saves the client that round trip next time.
   */
  offerNonce(reply: FastifyReply): void {
    if (this.#nonces) reply.header(DPOP_NONCE_HEADER, this.#nonces.current());
  }
}

const nonceCheck = (nonces: DpopNonces) => (nonce: string | undefined) => nonces.accepts(nonce);

const invalidProof = (why: string) => new ProlongError("invalid_dpop_proof", why);

/** True for the failures of a proof, which the endpoints answer 400 (RFC 9449 §5, §8). */
export function isProofFailure(
  error: unknown,
): error is ProlongError & { code: "invalid_dpop_proof" | "use_dpop_nonce" } {
  return (
    error instanceof ProlongError && (error.code === "invalid_dpop_proof" || error.code === "use_dpop_nonce")
  );
}
