import { type EngineEvent, type EngineOptions, SessionEngine } from "@prolong/core";
import { FakeClock, storeKind, testStore } from "../../../testing/suite.js";

export { FakeClock, storeKind, testStore };

/** Cheap scrypt for tests only; production uses the default cost. */
export const testPasswordCost = { N: 1024, r: 8, p: 1 };

export async function setup(options: Partial<EngineOptions> = {}) {
  const clock = new FakeClock();
  const store = await testStore();
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
