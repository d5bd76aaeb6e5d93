import { MemoryRateLimitStore } from "@prolong/store-memory";
import { describe, expect, it } from "vitest";

describe("the memory counter store", () => {
  it("stays within its key bound, dropping the oldest windows first", async () => {
    const store = new MemoryRateLimitStore({ maxKeys: 3 });
    const t0 = 1_000_000;
    for (const key of ["a", "b", "c", "d", "e"]) await store.hit(key, 10_000, t0);
    expect(store.size).toBe(3);
    expect(await store.peek("a", t0)).toBeNull();
    expect(await store.peek("b", t0)).toBeNull();
    expect((await store.peek("e", t0))?.count).toBe(1);
  });

  it("sweeps finished windows as new ones start", async () => {
    const store = new MemoryRateLimitStore();
    const t0 = 1_000_000;
    for (const key of ["a", "b", "c"]) await store.hit(key, 10_000, t0);
    await store.hit("d", 10_000, t0 + 11_000);
    expect(store.size).toBe(1);
  });
});
