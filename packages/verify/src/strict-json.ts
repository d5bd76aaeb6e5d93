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

/** One pass over the text that tracks the member names of every open object. */
function checkMemberNames(text: string): void {
  const stack: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      while (end < text.length && text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      if (expectingKey) {
        // Escapes are rare in names; only then is the name decoded (so "\u005f_proto__" is caught).
        let name = text.slice(i + 1, end);
        if (name.includes("\\")) {
          try {
            name = JSON.parse(text.slice(i, end + 1)) as string;
          } catch {
            throw invalid("malformed JSON");
          }
        }
        const names = stack[stack.length - 1];
        if (POISONED.has(name)) throw invalid(`forbidden member name "${name}"`);
        if (names?.has(name)) throw invalid(`duplicate member "${name}"`);
        names?.add(name);
        expectingKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectingKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectingKey = stack[stack.length - 1] instanceof Set;
    }
  }
}
