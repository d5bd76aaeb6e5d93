import { isCanonicalBase64url, parseCompactJws, parseStrictObject } from "@prolong/verify";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

// The verifier's two hand-written parsing steps on the hot path, checked against their
// rules as stated (docs/protocol.md, access tokens): canonical base64url, and JSON
// objects without duplicate or prototype-polluting member names.

/** RFC 4648 §5 without padding, one spelling per byte string: the rule, written plainly. */
function canonicalByRule(text: string): boolean {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return false;
  const rest = text.length % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(text[text.length - 1] as string);
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Mostly base64url, with what lenient decoders let through: the other alphabet, padding, spaces, non-ASCII. */
const spelling = fc.string({
  unit: fc.constantFrom(
    ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    "+",
    "/",
    "=",
    " ",
    "é",
    "\u0100",
  ),
  maxLength: 24,
});

const HEADERS = {
  // Asymmetric tokens and HMAC tokens are decoded by different routines (src/jws.ts).
  EdDSA: Buffer.from('{"alg":"EdDSA","kid":"k"}').toString("base64url"),
  HS256: Buffer.from('{"alg":"HS256","kid":"k"}').toString("base64url"),
};
const ALLOWED = new Set(["EdDSA", "HS256"]);

/** What parseCompactJws makes of `payload` and `signature` parts after a header of `alg`. */
function decoded(alg: keyof typeof HEADERS, payload: string, signature: string) {
  try {
    const jws = parseCompactJws(`${HEADERS[alg]}.${payload}.${signature}`, ALLOWED, 8192);
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
    return { payload: hex(jws.payload), signature: hex(jws.signature) };
  } catch (error) {
    return (error as Error).message;
  }
}

describe("canonical base64url", () => {
  it("is exactly the spelling rule, whatever the text", () => {
    fc.assert(
      fc.property(spelling, (text) => {
        expect(isCanonicalBase64url(text)).toBe(canonicalByRule(text));
      }),
      { numRuns: 2000 },
    );
  });

  it("token parts decode to their bytes when canonical and are refused otherwise, for every algorithm", () => {
    const part = fc.oneof(
      fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
      spelling,
    );
    fc.assert(
      fc.property(
        part,
        part.filter((s) => s.length > 0),
        (payload, signature) => {
          const expected =
            canonicalByRule(payload) && canonicalByRule(signature)
              ? {
                  payload: Buffer.from(payload, "base64url").toString("hex"),
                  signature: Buffer.from(signature, "base64url").toString("hex"),
                }
              : "not canonical base64url";
          expect(decoded("EdDSA", payload, signature)).toEqual(expected);
          expect(decoded("HS256", payload, signature)).toEqual(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

// ---- strict JSON objects ---------------------------------------------------------------

type Value = number | string | boolean | null | Value[] | Member[];
interface Member {
  name: string;
  value: Value;
}
const isObject = (value: Value): value is Member[] =>
  Array.isArray(value) && value.every((v) => typeof v === "object" && v !== null && "name" in v);

/** Few names, so objects often repeat one; some are spelled with escapes. */
const NAMES = ["sub", "exp", "a", "b", "__proto__", "constructor", "prototype", "x:y", 'q"', "\\"];
/** Strings that look like JSON structure from the inside. */
const STRINGS = ["", ":", '":', "}", "{", "[", "],", ",", '\\"', "a\\", "é", "x"];

const value: fc.Memo<Value> = fc.memo(
  (depth): fc.Arbitrary<Value> =>
    depth <= 1
      ? fc.oneof(fc.integer(), fc.constantFrom(...STRINGS), fc.boolean(), fc.constant(null))
      : fc.oneof(
          fc.integer(),
          fc.constantFrom(...STRINGS),
          fc.array(value(depth - 1), { maxLength: 3 }),
          members(depth - 1),
        ),
);
function members(depth: number): fc.Arbitrary<Member[]> {
  return fc.array(fc.record({ name: fc.constantFrom(...NAMES), value: value(depth) }), { maxLength: 5 });
}

/** Whitespace where RFC 8259 §2 allows it, and names sometimes written with \u escapes. */
interface Style {
  space: string;
  escapeNames: boolean;
}
function render(v: Value, style: Style): string {
  const s = style.space;
  if (typeof v === "string") return JSON.stringify(v);
  if (!Array.isArray(v)) return JSON.stringify(v);
  if (!isObject(v) || v.length === 0)
    return isObject(v) ? `{${s}}` : `[${s}${v.map((x) => render(x, style)).join(`${s},${s}`)}${s}]`;
  const name = (n: string) =>
    style.escapeNames && n.startsWith("_") ? `"\\u005f${JSON.stringify(n).slice(2)}` : JSON.stringify(n);
  return `{${s}${v.map((m) => `${name(m.name)}${s}:${s}${render(m.value, style)}`).join(`${s},${s}`)}${s}}`;
}

/** What the rule says of a tree: the first fault found, or null when it is clean. */
function fault(v: Value): "duplicate" | "forbidden" | null {
  if (!Array.isArray(v)) return null;
  if (!isObject(v)) {
    for (const item of v) {
      const inner = fault(item);
      if (inner) return inner;
    }
    return null;
  }
  const seen = new Set<string>();
  let found: "duplicate" | "forbidden" | null = null;
  for (const m of v) {
    if (["__proto__", "constructor", "prototype"].includes(m.name)) found ??= "forbidden";
    if (seen.has(m.name)) found ??= "duplicate";
    seen.add(m.name);
    found ??= fault(m.value);
  }
  return found;
}

describe("strict JSON objects", () => {
  it("are refused exactly when an object repeats a name or uses a polluting one, at any depth", () => {
    const style = fc.record({ space: fc.constantFrom("", " ", "\n\t "), escapeNames: fc.boolean() });
    fc.assert(
      fc.property(members(3), style, (tree, how) => {
        const text = render(tree, how);
        const expected = fault(tree);
        let outcome: string;
        try {
          const parsed = parseStrictObject(text);
          expect(parsed).toEqual(JSON.parse(text));
          outcome = "accepted";
        } catch (error) {
          outcome = (error as Error).message;
        }
        if (expected === null) expect(outcome).toBe("accepted");
        // Which fault is named first when a text has both is the scan's order; the kind is what matters.
        else if (fault(tree) === "duplicate" && !text.match(/"(__proto__|constructor|prototype|\\u005f)/))
          expect(outcome).toMatch(/^duplicate member "/);
        else expect(outcome).toMatch(/^(duplicate member|forbidden member name) "/);
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses a duplicate even when Object.prototype carries an enumerable property", () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.injected = 1;
    try {
      expect(() => parseStrictObject('{"a":1,"a":2}')).toThrow(/duplicate member "a"/);
      expect(() => parseStrictObject('{"a":{"b":1,"b":1},"c":[{"d":1,"d":2}]}')).toThrow(/duplicate/);
      expect(parseStrictObject('{"a":1,"b":[{"a":1}]}')).toEqual({ a: 1, b: [{ a: 1 }] });
    } finally {
      delete proto.injected;
    }
  });

  it("names the fault of a text that is also malformed, as before the quick check existed", () => {
    expect(() => parseStrictObject('{"a":1,"a":2')).toThrow(/duplicate member "a"/);
    expect(() => parseStrictObject('{"a":1,"b":}')).toThrow("malformed JSON");
    expect(() => parseStrictObject("[1,2]")).toThrow("JSON is not an object");
  });
});
