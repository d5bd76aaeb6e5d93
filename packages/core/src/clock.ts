/** Injected time source, in milliseconds since the epoch, so tests never sleep. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Seconds since the epoch, as JWT NumericDate values are (RFC 7519 §2). */
export function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
