import { ProlongError } from "./errors.js";

/**
 * Subject ids are the application's own user ids (docs/protocol.md, "Subjects"): the
 * `sub` of every access token (RFC 7519 §4.1.2 asks only for a unique string), so the
 * rule is loose enough for database keys, UUIDs and e-mail addresses, and strict enough
 * that an id reads back exactly as it was written and shows as what it is.
 */

/** The longest subject id, in Unicode code points. */
export const SUBJECT_ID_MAX = 255;

/**
 * Control characters (C0, DEL, C1: a line break in a log line or a header) and lone
 * surrogates, which are not text: a UTF-8 store (SQLite) would read one back as U+FFFD,
 * another id than the one the application holds.
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}]/u;

/** Whitespace at either end, invisible wherever the id is shown or compared by eye. */
const PADDED = /^\s|\s$/u;

/**
 * What is wrong with `value` as a subject id, or `null` when it is one: a string of 1 to
 * {@link SUBJECT_ID_MAX} code points, without control characters or lone surrogates,
 * and without whitespace at either end.
 */
export function subjectIdProblem(value: unknown): string | null {
  if (typeof value !== "string") return "must be a string";
  if (value.length === 0) return "must not be empty";
  // Counted in code points, so a non-BMP character counts once (as a person counts it);
  // a code point is at most two UTF-16 units, so a longer string is refused uncounted.
  if (value.length > 2 * SUBJECT_ID_MAX || [...value].length > SUBJECT_ID_MAX)
    return `at most ${SUBJECT_ID_MAX} characters`;
  if (FORBIDDEN.test(value)) return "must not contain control characters or lone surrogates";
  if (PADDED.test(value)) return "must not start or end with whitespace";
  return null;
}

/** `value` as a subject id; throws `invalid_request` naming `subject` otherwise. */
export function checkSubjectId(value: unknown): string {
  const problem = subjectIdProblem(value);
  if (problem !== null) throw new ProlongError("invalid_request", `subject: ${problem}`);
  return value as string;
}
