import { DPOP_PROOF_LIFETIME_SECONDS } from "@prolong/protocol";
import { ProlongError } from "../errors.js";
import { sha256Base64url } from "../lib/crypto.js";
import type { Profile } from "../policy.js";
import type { EngineContext } from "./context.js";

/** What a checked DPoP proof (`checkDpopProof` of `@prolong/verify`) tells the engine. */
export interface ProvenKey {
  /** RFC 7638 thumbprint of the proof's key. */
  jkt: string;
  jti: string;
  /** Seconds since the epoch after which the proof is refused as too old. */
  expiresAt: number;
}

/**
 * Claims a proof's `jti` once in the store's `replay` concern (RFC 9449 §11.1): `false`
 * when a proof of the same key with the same `jti` was seen while it could still be
 * accepted, on this instance or any other on the store. The key is a hash of the
 * thumbprint and the `jti`, so it has one length whatever the client sent, and one
 * client's `jti` never blocks another key's. It is kept one proof lifetime past the
 * proof's own end (which already counts the clock tolerance), so an instance whose clock
 * runs behind the one that claimed it still finds the claim.
 */
export function claimProof(ctx: EngineContext, proof: ProvenKey): Promise<boolean> {
  const key = `dpop:${sha256Base64url(`${proof.jkt}.${proof.jti}`)}`;
  const keepUntil = (proof.expiresAt + DPOP_PROOF_LIFETIME_SECONDS) * 1000;
  return ctx.store.replay.claim(key, keepUntil, ctx.clock.now());
}

/**
 * A profile that requires DPoP refuses a grant or revocation that proved no key, whatever
 * the route checked (the exchange and revocation learn the client only from the token).
 */
export function requireProofFor(profile: Profile, proofJkt: string | null | undefined): void {
  if (profile.dpop === "required" && !proofJkt) {
    throw new ProlongError("invalid_dpop_proof", "a DPoP proof is required for this client");
  }
}
