import { invalid } from "./errors.js";

/** Keys that could reach Object.prototype through a careless merge. */
const POISONED = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Parses a JWS header or JWT claims set and refuses what `JSON.parse` lets through:
 * duplicate member names (RFC 7515 §4 and RFC 7519 §4 say reject or take the last;
 * parsers that disagree on which one wins are how a signed value gets re-read as
 * another), prototype-polluting names, and anything but an object at the top.
 */
export function parseStrictObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The full scan first, so a text both malformed and with a duplicate says "duplicate".
    checkMemberNames(text);
    throw invalid("malformed JSON");
  }
  // The quick proof below settles the common case; when it cannot, the full scan decides
  // (and names the member at fault), so the outcome is the scan's either way.
  if (countMemberNames(text) !== countOwnNames(value)) checkMemberNames(text);
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid("JSON is not an object");
  return value as Record<string, unknown>;
}

/**
 * Member names written in `text`, a JSON text `JSON.parse` accepted: the strings followed
 * by a colon (RFC 8259 §4; whitespace may sit between). The parsed value has one own
 * property per distinct name of each object (the last duplicate wins, and the value it
 * overwrote vanishes with its own names), so the two counts are equal exactly when no
 * object repeats a name. Cheaper than collecting the names: nothing is sliced.
 */
function countMemberNames(text: string): number {
  let count = 0;
  let open = text.indexOf('"');
  while (open !== -1) {
    const close = closingQuote(text, open);
    let next = close + 1;
    while (next < text.length && text.charCodeAt(next) <= 0x20) next++;
    if (text.charCodeAt(next) === 0x3a /* : */) count++;
    open = text.indexOf('"', next);
  }
  return count;
}

/**
 * Own property names of every object in a parsed JSON value, or -1 as soon as one is
 * prototype-polluting (`JSON.parse` makes `__proto__` an ordinary own property, escaped
 * spellings decoded), which sends the text to the full scan.
 */
function countOwnNames(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      const inner = countOwnNames(item);
      if (inner < 0) return -1;
      count += inner;
    }
    return count;
  }
  for (const name in value) {
    // Own names only: an enumerable property someone added to Object.prototype must not
    // make up for a duplicate's missing one.
    if (!Object.hasOwn(value, name)) continue;
    if (POISONED.has(name)) return -1;
    const inner = countOwnNames((value as Record<string, unknown>)[name]);
    if (inner < 0) return -1;
    count += inner + 1;
  }
  return count;
}

/**
 * Index of the quote that closes the string opened at `open`. Found with `indexOf`
 * (native, fast on the long string values of a claims set); a quote preceded by an odd
 * run of backslashes is escaped and skipped.
 */
function closingQuote(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  while (end !== -1) {
    let slashes = 0;
    while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  // Unterminated: JSON.parse will refuse the text; stop scanning.
  return text.length;
}

/** Small objects keep their names in an array (faster than a Set); larger ones switch to a Set. */
type Names = string[] | Set<string>;
const SMALL_OBJECT = 16;

/** Records `name` in the innermost open object, refusing a duplicate. */
function addName(stack: (Names | null)[], name: string): void {
  const names = stack[stack.length - 1];
  if (!names) return;
  if (Array.isArray(names)) {
    if (names.indexOf(name) !== -1) throw invalid(`duplicate member "${name}"`);
    names.push(name);
    // Past a few names, linear search would make a crafted header quadratic: use a Set.
    if (names.length > SMALL_OBJECT) stack[stack.length - 1] = new Set(names);
  } else {
    if (names.has(name)) throw invalid(`duplicate member "${name}"`);
    names.add(name);
  }
}

/** One pass over the text that tracks the member names of every open object. */
function checkMemberNames(text: string): void {
  const stack: (Names | null)[] = [];
  let expectingKey = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = closingQuote(text, i);
      if (expectingKey) {
        // Escapes are rare in names; only then is the name decoded (so "\u005f_proto__" is caught).
        let name = text.slice(i + 1, end);
        if (name.indexOf("\\") !== -1) {
          try {
            name = JSON.parse(text.slice(i, end + 1)) as string;
          } catch {
            throw invalid("malformed JSON");
          }
        }
        if (POISONED.has(name)) throw invalid(`forbidden member name "${name}"`);
        addName(stack, name);
        expectingKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push([]);
      expectingKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectingKey = stack[stack.length - 1] != null;
    }
  }
}
