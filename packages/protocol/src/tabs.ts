/**
 * The messages the tabs of one browser send each other about a session, on the client's
 * `BroadcastChannel` (HTML Living Standard, "Broadcasting to other browsing contexts"):
 * a channel hears any script of the origin, so what arrives is read with
 * {@link decodeTabMessage}, never trusted as it is.
 */

/** Why a session ended on a client; a tab that ends one tells the others why. */
export type SignOutReason = "revoked" | "expired" | "reused" | "idle" | "logout";

/** Every {@link SignOutReason}. */
export const SIGN_OUT_REASONS: readonly SignOutReason[] = ["revoked", "expired", "reused", "idle", "logout"];

/** One message between tabs. */
export type TabMessage =
  /** A tab asks the open ones for their access token (a new tab, or one about to refresh). */
  | { type: "hello" }
  /** A tab's current access token, sent after each renewal and in answer to `hello`. */
  | { type: "tokens"; accessToken: string }
  /** The session ended in a tab; the others drop it too. */
  | { type: "signedOut"; reason: SignOutReason }
  /** The user was active in a tab at `at` (ms since the epoch), which keeps every tab from idling out. */
  | { type: "activity"; at: number };

/**
 * A message read back from a channel's `data`: `null` for anything not of a
 * {@link TabMessage}'s shape. Fields other than the message's own are dropped.
 */
export function decodeTabMessage(data: unknown): TabMessage | null {
  const { type, accessToken, reason, at }: Partial<Record<string, unknown>> =
    (typeof data === "object" && data) || {};
  if (type === "hello") return { type };
  if (type === "tokens" && typeof accessToken === "string" && accessToken) return { type, accessToken };
  if (type === "signedOut" && isReason(reason)) return { type, reason };
  if (type === "activity" && typeof at === "number" && Number.isFinite(at)) return { type, at };
  return null;
}

const isReason = (value: unknown): value is SignOutReason =>
  SIGN_OUT_REASONS.includes(value as SignOutReason);
