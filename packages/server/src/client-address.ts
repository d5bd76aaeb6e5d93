import { isIP } from "node:net";

/**
 * Which proxies in front of the server may be believed about the client's address:
 * `false` (none, the socket's peer is the client), a number of hops, or the proxies'
 * addresses and CIDR ranges (or proxy-addr's names `loopback`, `linklocal`, `uniquelocal`).
 */
export type TrustProxySetting = false | number | string[];

const NAMED_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

/** Whether `entry` is an IP address, a CIDR range or a named range that proxy-addr understands. */
export function isProxyEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Fastify's `trustProxy` for a setting. `X-Forwarded-For` is read right to left: each
 * trusted proxy appended the address it saw, so the client's address is the right-most
 * entry no trusted proxy wrote. Everything to its left was written by the client and
 * proves nothing; believing the left-most entry would let anyone pick the address every
 * per-address limit counts against.
 *
 * A hop count is passed as a function because Fastify treats a bare number as "trust
 * nothing"; proxy-addr numbers the socket's peer 0 and the header's entries from the
 * right, so `index < hops` trusts exactly the last `hops` senders. Use a hop count only
 * when the server cannot be reached except through those proxies; otherwise list them.
 */
export function trustProxyOption(
  setting: TrustProxySetting,
): false | string[] | ((address: string, index: number) => boolean) {
  if (setting === false || setting === 0) return false;
  if (typeof setting === "number") return (_address, index) => index < setting;
  return setting;
}

/**
 * The key under which per-address limits count a client. IPv4 addresses (also when
 * IPv4-mapped) count one by one; IPv6 addresses by their /64, the block a single
 * subscriber is given, since anyone who holds one can rotate through 2^64 addresses.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  const [head = "", tail] = ip.toLowerCase().split("%")[0]?.split("::") ?? [];
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * A client's address as a host hands it over (Next's `x-forwarded-for` reading, SvelteKit's
 * `getClientAddress()`, Bun's `server.requestIP()`, Deno's `info.remoteAddr`): an IP
 * address, or `null` when the host has none. Anything else is the host's mistake, refused
 * here rather than counted in the per-address limits as if it were an address.
 */
export function hostClientAddress(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || isIP(value) === 0) {
    throw new TypeError(
      `${field}: not an IP address (${typeof value === "string" ? JSON.stringify(value) : typeof value})`,
    );
  }
  return value;
}
