import type { ErrorBody } from "@prolong/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";

/**
 * A device name as sent: bounded so the work of cleaning it is, and longer than what is
 * kept (the core cuts it at whole graphemes). Where a name is optional, one that is empty
 * once cleaned counts as none.
 */
export const deviceNameField = z.string().max(200);

/** The answer to a request body or query that fails its schema (docs/protocol.md, errors). */
export interface InvalidRequest extends ErrorBody {
  error: "invalid_request";
  /** Every problem as `<field>: <problem>`, joined by "; ", unknown fields first. */
  error_description: string;
}

/** Where the input came from: a JSON body has fields, a query string parameters. */
type Source = "body" | "query";

const KIND: Record<string, string> = {
  object: "a JSON object",
  record: "a JSON object",
  array: "an array",
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
};

/**
 * Turns a zod error into one message that names each field at fault by its wire name,
 * so a client sees `id: unknown field` rather than a guess about what it meant.
 * `input` is what was validated; it tells a missing field from a wrong one. Values are
 * never echoed: a body may hold a password.
 */
export function invalidRequest(error: z.ZodError, input: unknown, source: Source = "body"): InvalidRequest {
  const problems: string[] = [];
  const unknown: string[] = [];
  const stranger = source === "body" ? "unknown field" : "unknown parameter";
  for (const issue of error.issues) {
    const at = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) unknown.push(`${[...at, key].join(".")}: ${stranger}`);
      continue;
    }
    const problem = problemOf(issue, valueAt(input, at), source);
    problems.push(`${at.length === 0 ? source : at.join(".")}: ${problem}`);
  }
  return { error: "invalid_request", error_description: [...unknown, ...problems].join("; ") };
}

function problemOf(issue: z.core.$ZodIssue, value: unknown, source: Source): string {
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined && issue.path.length > 0) return "required";
      // A query string gives a name several values by repeating it (`?limit=1&limit=2`).
      if (source === "query" && Array.isArray(value)) return "given more than once";
      return `must be ${KIND[issue.expected] ?? issue.expected}`;
    case "invalid_value":
      return `must be one of ${issue.values.map(String).join(", ")}`;
    case "too_big":
      return issue.origin === "string"
        ? `at most ${issue.maximum} characters`
        : `at most ${issue.maximum}${issue.origin === "array" ? " items" : ""}`;
    case "too_small":
      if (issue.origin === "string")
        return issue.minimum === 1 ? "must not be empty" : `at least ${issue.minimum} characters`;
      return `at least ${issue.minimum}${issue.origin === "array" ? " items" : ""}`;
    default:
      return issue.message;
  }
}

function valueAt(input: unknown, path: readonly string[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * The body parsed by `schema`, or `null` after answering 400 `invalid_request` with the
 * fields at fault.
 */
export function parseBody<S extends z.ZodType>(
  schema: S,
  request: FastifyRequest,
  reply: FastifyReply,
): { data: z.output<S> } | null {
  const parsed = schema.safeParse(request.body);
  if (parsed.success) return { data: parsed.data };
  reply.code(400).send(invalidRequest(parsed.error, request.body));
  return null;
}

/**
 * The query parameters parsed by `schema` (strict: an unknown parameter is refused), or
 * `null` after answering 400 `invalid_request` naming each parameter at fault, as for
 * bodies.
 */
export function parseQuery<S extends z.ZodType>(
  schema: S,
  request: FastifyRequest,
  reply: FastifyReply,
): { data: z.output<S> } | null {
  const parsed = schema.safeParse(request.query ?? {});
  if (parsed.success) return { data: parsed.data };
  reply.code(400).send(invalidRequest(parsed.error, request.query, "query"));
  return null;
}

/** The query of a route that takes no parameters. */
export const noQuery = z.object({}).strict();

/** A page size as sent in a query string: a whole number from 1 to 500. */
export const limitParam = z
  .string()
  .regex(/^\d{1,6}$/, "must be a whole number from 1 to 500")
  .transform(Number)
  .pipe(z.number().min(1).max(500));

/** A text parameter as sent in a query string: not empty, bounded. */
export const textParam = (max: number) => z.string().min(1).max(max);

/** A 400 `invalid_request` for the error handler to answer with. */
function badBody(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400, code: "invalid_request" });
}

class PrototypeKey extends Error {}

/**
 * The JSON body parser. A key that could reach an object's prototype (`__proto__`, or
 * `constructor` holding `prototype`) is refused with a message that says so, rather than
 * the "not valid JSON" of a plain syntax error: the JSON is valid, we refuse it on purpose
 * (prototype pollution).
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") throw badBody("body: empty, but the content type says JSON");
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (
        key === "__proto__" ||
        (key === "constructor" &&
          typeof value === "object" &&
          value !== null &&
          Object.hasOwn(value, "prototype"))
      ) {
        throw new PrototypeKey(key);
      }
      return value;
    });
  } catch (error) {
    if (error instanceof PrototypeKey) {
      throw badBody(
        `body: a key named ${error.message === "__proto__" ? "__proto__" : "constructor.prototype"} is refused, as it could alter object prototypes`,
      );
    }
    throw badBody("body: not valid JSON");
  }
}
