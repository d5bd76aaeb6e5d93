import { spawnSync } from "node:child_process";
import { describe, expect, expectTypeOf, it } from "vitest";
import { ArgumentError, readOptions } from "../bench/lib/args.mjs";

// bench/lib/args.mjs: the one command-line reader of every bench.

const spec = {
  duration: { type: "number", default: 10, quick: 3, min: 0.1, max: 600 },
  rounds: { type: "number", default: 2, min: 1, integer: true },
  maxSeconds: { type: "number", default: 5 },
  stores: { type: "list", default: ["sqlite", "redis"], choices: ["sqlite", "postgres", "redis"] },
  sizes: { type: "numbers", default: [10_000, 100_000], quick: [1_000], integer: true, min: 1_000 },
  results: { type: "string", default: "bench/results" },
} as const;

describe("bench/lib/args.mjs", () => {
  it("gives the defaults when nothing is given", () => {
    expect(readOptions(spec, [])).toEqual({
      quick: false,
      duration: 10,
      rounds: 2,
      maxSeconds: 5,
      stores: ["sqlite", "redis"],
      sizes: [10_000, 100_000],
      results: "bench/results",
    });
  });

  it("takes the quick values under --quick, and what is given over both", () => {
    const options = readOptions(spec, ["--quick", "--rounds", "4"]);
    expect(options).toMatchObject({ quick: true, duration: 3, rounds: 4, maxSeconds: 5, sizes: [1_000] });
  });

  it("reads camelCase options in kebab-case, --name=value and lists", () => {
    const options = readOptions(spec, [
      "--max-seconds=0.5",
      "--stores",
      "postgres, redis",
      "--sizes",
      "2000,5000",
    ]);
    expect(options).toMatchObject({ maxSeconds: 0.5, stores: ["postgres", "redis"], sizes: [2_000, 5_000] });
  });

  it.each([
    [["--duration"], /--duration/],
    [["--duration", "ten"], /--duration: "ten" is not a number from 0\.1 to 600/],
    [["--duration", "0"], /--duration: "0" is not a number from 0\.1 to 600/],
    [["--rounds", "1.5"], /--rounds: "1\.5" is not a whole number, 1 or more/],
    [["--max-seconds", ""], /--max-seconds: "" is not a number/],
    [["--stores", "sqlite,mysql"], /--stores: unknown "mysql"; one of sqlite, postgres, redis/],
    [["--sizes", "2000,,3000"], /--sizes: an empty item/],
    [["--sizes", "500"], /--sizes: "500" is not a whole number, 1000 or more/],
    [["--seconds", "3"], /--seconds.*the options are --quick, --duration, --rounds, --max-seconds/],
    [["stray"], /stray/],
  ])("refuses %j, naming the option", (argv, message) => {
    expect(() => readOptions(spec, argv)).toThrow(ArgumentError);
    expect(() => readOptions(spec, argv)).toThrow(message);
  });

  it("types each option by its kind", () => {
    expectTypeOf(readOptions(spec, [])).toEqualTypeOf<
      {
        duration: number;
        rounds: number;
        maxSeconds: number;
        stores: ("sqlite" | "postgres" | "redis")[];
        sizes: number[];
        results: string;
      } & { quick: boolean }
    >();
  });

  it("requires a string option without a default", () => {
    const required = { port: { type: "number", default: 0 }, db: { type: "string" } } as const;
    expect(() => readOptions(required, ["--port", "80"])).toThrow(/--db is required/);
    expect(readOptions(required, ["--db", "x.db"])).toEqual({ quick: false, port: 0, db: "x.db" });
  });
});

describe("a bench's command line", () => {
  it("stops a bench before it starts, with status 2 and the option named", () => {
    const run = spawnSync(process.execPath, ["bench/plot.mjs", "--results"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/bench: .*--results.*; the options are --quick, --results, --out/);
    expect(run.stdout).toBe("");
  });
});
