import { describe, expect, it } from "vitest";
import { RespawnBudget, respawnBudgetFor } from "../src/workers.js";

describe("the budget of worker replacements", () => {
  it("replaces up to its number of deaths within the window, then refuses", () => {
    const budget = new RespawnBudget(3, 60_000);
    expect([0, 1_000, 2_000].map((at) => budget.spend(at))).toEqual([true, true, true]);
    expect(budget.spend(3_000)).toBe(false);
  });

  it("forgets deaths older than the window", () => {
    const budget = new RespawnBudget(2, 60_000);
    expect(budget.spend(0)).toBe(true);
    expect(budget.spend(30_000)).toBe(true);
    // The death at 0 is a minute old: two deaths within the last minute.
    expect(budget.spend(60_000)).toBe(true);
    expect(budget.spend(61_000)).toBe(false);
    expect(budget.spend(200_000)).toBe(true);
  });

  it("allows as many deaths a minute as there are workers, and at least 5", () => {
    expect(respawnBudgetFor(2)).toMatchObject({ deaths: 5, withinMs: 60_000 });
    expect(respawnBudgetFor(16)).toMatchObject({ deaths: 16, withinMs: 60_000 });
  });
});
