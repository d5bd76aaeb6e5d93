// The command line of every bench, read one way: node:util's parseArgs (strict, so an
// unknown option or a missing value is an error, never a NaN carried into a run), each
// value checked against its option's rule, `--quick` understood everywhere.
//
// An option is declared under its camelCase name and written on the command line in
// kebab-case: `maxSeconds` is `--max-seconds`. Under `--quick`, an option not given takes
// its `quick` value when it has one, else its `default`.
import { parseArgs } from "node:util";

/**
 * @typedef {object} NumberOption A number; `integer` asks for a whole one.
 * @property {"number"} type
 * @property {number} default
 * @property {number} [quick]
 * @property {number} [min]
 * @property {number} [max]
 * @property {boolean} [integer]
 */
/**
 * @typedef {object} NumbersOption A comma-separated list of numbers, each checked as a {@link NumberOption}.
 * @property {"numbers"} type
 * @property {readonly number[]} default
 * @property {readonly number[]} [quick]
 * @property {number} [min]
 * @property {number} [max]
 * @property {boolean} [integer]
 */
/**
 * @typedef {object} StringOption A string; without a `default` the option is required.
 * @property {"string"} type
 * @property {string} [default]
 * @property {string} [quick]
 * @property {readonly string[]} [choices]
 */
/**
 * @typedef {object} ListOption A comma-separated list of strings, each one of `choices` if given.
 * @property {"list"} type
 * @property {readonly string[]} default
 * @property {readonly string[]} [quick]
 * @property {readonly string[]} [choices]
 */
/** @typedef {NumberOption | NumbersOption | StringOption | ListOption} OptionSpec */

/**
 * The value a spec gives; with `choices`, one of them (or a list of them).
 * @template {OptionSpec} O
 * @typedef {O["type"] extends "number" ? number : O["type"] extends "numbers" ? number[]
 *   : O extends { choices: readonly (infer C)[] } ? (O["type"] extends "list" ? C[] : C)
 *   : O["type"] extends "list" ? string[] : string} ValueOf
 */

/**
 * The options of a spec, with `quick`.
 * @template {Record<string, OptionSpec>} S
 * @typedef {{ -readonly [K in keyof S]: ValueOf<S[K]> } & { quick: boolean }} Options
 */

/** A command line that does not fit the bench's options; the message names the option. */
export class ArgumentError extends Error {
  code = "bench_bad_argument";
  /** @override */
  name = "ArgumentError";
}

/** `maxSeconds` → `max-seconds`. */
const kebab = (/** @type {string} */ name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Reads `argv` (no node or script path in it) against `spec`.
 * @template {Record<string, OptionSpec>} S
 * @param {S} spec
 * @param {readonly string[]} argv
 * @returns {Options<S>}
 * @throws {ArgumentError}
 */
export function readOptions(spec, argv) {
  /** @type {Record<string, { type: "string" } | { type: "boolean" }>} */
  const config = { quick: { type: "boolean" } };
  for (const name of Object.keys(spec)) config[kebab(name)] = { type: "string" };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: false });
  } catch (error) {
    throw new ArgumentError(`${/** @type {Error} */ (error).message}; ${usage(spec)}`);
  }
  const given = /** @type {Record<string, string | boolean | undefined>} */ (parsed.values);
  const quick = given.quick === true;
  /** @type {Record<string, unknown>} */
  const out = { quick };
  for (const [name, option] of Object.entries(spec)) {
    const flag = `--${kebab(name)}`;
    const text = given[kebab(name)];
    out[name] = typeof text === "string" ? read(flag, option, text) : fallback(flag, option, quick);
  }
  return /** @type {Options<S>} */ (out);
}

/**
 * {@link readOptions} over this process's command line; on a bad one, says why and how
 * to call the bench, and exits with status 2 before anything starts.
 * @template {Record<string, OptionSpec>} S
 * @param {S} spec
 * @returns {Options<S>}
 */
export function benchOptions(spec) {
  try {
    return readOptions(spec, process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ArgumentError)) throw error;
    console.error(`bench: ${error.message}`);
    process.exit(2);
  }
}

/**
 * @param {string} flag
 * @param {OptionSpec} option
 * @param {boolean} quick
 */
function fallback(flag, option, quick) {
  const value = quick && option.quick !== undefined ? option.quick : option.default;
  if (value === undefined) throw new ArgumentError(`${flag} is required`);
  return Array.isArray(value) ? [...value] : value;
}

/**
 * @param {string} flag
 * @param {OptionSpec} option
 * @param {string} text
 * @returns {number | number[] | string | string[]}
 */
function read(flag, option, text) {
  switch (option.type) {
    case "number":
      return number(flag, option, text);
    case "numbers":
      return split(flag, text).map((item) => number(flag, option, item));
    case "string":
      return oneOf(flag, option.choices, text);
    case "list":
      return split(flag, text).map((item) => oneOf(flag, option.choices, item));
  }
}

/**
 * @param {string} flag
 * @param {NumberOption | NumbersOption} option
 * @param {string} text
 */
function number(flag, option, text) {
  const value = text.trim() === "" ? Number.NaN : Number(text);
  const min = option.min ?? Number.NEGATIVE_INFINITY;
  const max = option.max ?? Number.POSITIVE_INFINITY;
  if (!Number.isFinite(value) || (option.integer && !Number.isInteger(value)) || value < min || value > max) {
    const kind = option.integer ? "a whole number" : "a number";
    const range =
      option.min !== undefined && option.max !== undefined
        ? ` from ${option.min} to ${option.max}`
        : option.min !== undefined
          ? `, ${option.min} or more`
          : option.max !== undefined
            ? `, at most ${option.max}`
            : "";
    throw new ArgumentError(`${flag}: "${text}" is not ${kind}${range}`);
  }
  return value;
}

/**
 * @param {string} flag
 * @param {readonly string[] | undefined} choices
 * @param {string} value
 */
function oneOf(flag, choices, value) {
  if (choices && !choices.includes(value))
    throw new ArgumentError(`${flag}: unknown "${value}"; one of ${choices.join(", ")}`);
  return value;
}

/** @param {string} flag @param {string} text */
function split(flag, text) {
  const items = text.split(",").map((item) => item.trim());
  if (items.some((item) => item === "")) throw new ArgumentError(`${flag}: an empty item in "${text}"`);
  return items;
}

/** @param {Record<string, OptionSpec>} spec */
function usage(spec) {
  const names = ["--quick", ...Object.keys(spec).map((name) => `--${kebab(name)}`)];
  return `the options are ${names.join(", ")}`;
}
