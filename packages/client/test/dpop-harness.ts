/**
 * The client with DPoP over the fake server (fake-server.ts), every request it makes seen
 * on its way: the unit tests of the client's proofs (dpop.test.ts, dpop-api.test.ts).
 */
import { createSessionClient, type SessionClientOptions } from "@prolong/client";
import { base64url, calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from "jose";
import { expect } from "vitest";
import { FakeServer } from "./fake-server.js";

/** A request the client made: method, URL, and the headers DPoP is about. */
export interface Seen {
  method: string;
  url: string;
  dpop: string | null;
  authorization: string | null;
}

export class DpopHarness {
  readonly server = new FakeServer();
  readonly seen: Seen[] = [];
  /** An answer put before the fake server's; `undefined` lets the request through. */
  before: (request: Request) => Response | undefined = () => undefined;
  readonly #stops: (() => void)[] = [];

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const h = request.headers;
    this.seen.push({
      method: request.method,
      url: request.url,
      dpop: h.get("dpop"),
      authorization: h.get("authorization"),
    });
    return this.before(request.clone()) ?? this.server.fetch(request);
  };

  /** A native client with `dpop: true` (unless `options` say otherwise), and the codes of its `error` events. */
  client(options: Partial<SessionClientOptions> = {}) {
    const c = createSessionClient({
      issuer: this.server.issuer,
      profile: "native",
      fetch: this.fetch,
      random: () => 0,
      locks: null,
      channel: null,
      target: null,
      dpop: true,
      ...options,
    });
    this.#stops.push(() => c.stop());
    const errors: string[] = [];
    c.on("error", (e) => errors.push(e.code));
    return { c, errors };
  }

  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
  }
}

/** Verifies a proof as a server would, with jose: signature by its own jwk, typ, alg. */
export async function verified(proof: string | null | undefined) {
  expect(proof).toBeTypeOf("string");
  const { payload, protectedHeader } = await jwtVerify(proof as string, EmbeddedJWK, {
    typ: "dpop+jwt",
    algorithms: ["ES256"],
  });
  const jwk = protectedHeader.jwk as JWK;
  return { payload, header: protectedHeader, jkt: await calculateJwkThumbprint(jwk) };
}

/** base64url(SHA-256(value)): a proof's `ath` for the access token `value` (RFC 9449 §4.2). */
export const sha256 = async (value: string) =>
  base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))));
