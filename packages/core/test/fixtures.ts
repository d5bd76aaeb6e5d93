import { type EngineEvent, type EngineOptions, SessionEngine } from "@prolong/core";
import { MemoryStore } from "@prolong/store-memory";

/** A clock tests move by hand; starts at a fixed instant so results are repeatable. */
export class FakeClock {
  t = Date.UTC(2026, 0, 1);
  now(): number {
    return this.t;
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

/** Cheap scrypt for tests only; production uses the default cost. */
export const testPasswordCost = { N: 1024, r: 8, p: 1 };

export async function setup(options: Partial<EngineOptions> = {}) {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const events: EngineEvent[] = [];
  const engine = await SessionEngine.create({
    store,
    clock,
    issuer: "https://auth.example.test",
    passwordCost: testPasswordCost,
    onEvent: (e) => {
      events.push(e);
    },
    ...options,
  });
  const { subject: user } = await engine.createAccount({
    username: "Maryo",
    password: "correct horse battery",
    claims: { roles: ["reader"] },
  });
  return { clock, store, engine, events, user };
}

/** Reads a JWT's parts without verifying; tests check what was signed. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split(".");
  const part = (s: string | undefined) => JSON.parse(Buffer.from(s ?? "", "base64url").toString("utf8"));
  return { header: part(h), payload: part(p) };
}
