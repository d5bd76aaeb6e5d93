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
  checkMemberNames(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid("malformed JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid("JSON is not an object");
  return value as Record<string, unknown>;
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
