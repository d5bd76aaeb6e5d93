import { createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ProlongError, profileOf, type SessionEngine } from "@prolong/core";
import { DPOP_HEADER, DPOP_NONCE_HEADER, type DpopMode } from "@prolong/protocol";
import { checkDpopProof, createDpopNonces, type DpopNonces, type Proof, VerifyError } from "@prolong/verify";
import type { FastifyReply } from "fastify";

const HEADER = DPOP_HEADER.toLowerCase();

/**
 * How long one nonce is current, in seconds. The previous window's nonce is accepted too,
 * so a nonce works for between one and two windows: long enough that a client rarely
 * needs the `use_dpop_nonce` round trip, short enough that proofs cannot be made ahead
 * for long (RFC 9449 §8, §11.2).
 */
export const DPOP_NONCE_WINDOW_SECONDS = 120;

/**
 * The server's DPoP nonces (RFC 9449 §8): `@prolong/verify`'s stateless ones, a MAC of the
 * time window, under a key derived from the resource secret, which every instance on one
 * store holds (`resourceSecretOf`): every instance hands out and accepts the same nonces
 * without a write or a shared cache. The derived key is for nonces alone, so a nonce (which
 * travels in the clear) is never a MAC under a key used for anything else.
 * @param now milliseconds since the epoch (the engine's clock).
 */
export function serverNonces(resourceSecret: string, now: () => number): DpopNonces {
  const secret = createHmac("sha256", resourceSecret).update("prolong dpop nonce").digest();
  return createDpopNonces({ secret, windowSeconds: DPOP_NONCE_WINDOW_SECONDS, now });
}

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
    /** The proof's `nonce`, checked once the rest of the proof has passed (RFC 9449 §9). */
    let nonce: string | undefined;
    try {
      proof = await checkDpopProof(header, {
        method: request.method,
        url: `${this.#issuer}${path}`,
        now: Math.floor(this.#engine.now() / 1000),
        ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
        ...(this.#nonces === null
          ? {}
          : {
              nonce: (given: string | undefined) => {
                nonce = given;
                return true;
              },
            }),
      });
    } catch (error) {
      if (error instanceof VerifyError) {
        const code = error.code === "use_dpop_nonce" ? "use_dpop_nonce" : "invalid_dpop_proof";
        throw new ProlongError(code, error.message);
      }
      throw error;
    }
    if (this.#nonces && (nonce === undefined || !(await this.#nonces.accepts(nonce))))
      throw new ProlongError(
        "use_dpop_nonce",
        nonce === undefined ? "DPoP nonce is required" : "DPoP nonce is stale",
      );
    if (!(await this.#engine.claimProof(proof))) throw invalidProof("the DPoP proof was already used");
    return proof;
  }

  /**
   * Hands out the current nonce (RFC 9449 §8.1, §8.2) on an answer of an endpoint that
   * takes proofs, errors included: `use_dpop_nonce` must carry it, and on the others it
   * saves the client that round trip next time.
   */
  async offerNonce(reply: FastifyReply): Promise<void> {
    if (this.#nonces) reply.header(DPOP_NONCE_HEADER, await this.#nonces.current());
  }
}

const invalidProof = (why: string) => new ProlongError("invalid_dpop_proof", why);

/** True for the failures of a proof, which the endpoints answer 400 (RFC 9449 §5, §8). */
export function isProofFailure(
  error: unknown,
): error is ProlongError & { code: "invalid_dpop_proof" | "use_dpop_nonce" } {
  return (
    error instanceof ProlongError && (error.code === "invalid_dpop_proof" || error.code === "use_dpop_nonce")
  );
}
