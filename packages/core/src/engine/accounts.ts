import { ProlongError } from "../errors.js";
import { checkNewPassword, hashPassword, normalizeUsername, verifyPassword } from "../passwords.js";
import { randomId } from "../random.js";
import type { AccountRecord } from "../store/index.js";
import { checkSubjectClaims } from "../subject-claims.js";
import type { EngineContext } from "./context.js";
import { refuseImpersonator } from "./impersonation.js";
import { endSubjectSessions } from "./revoke.js";
import type { SubjectDetails } from "./subjects.js";

/**
 * Creates a subject with a built-in username/password account. `password` may be left
 * out for an account that cannot sign in with one yet.
 */
export async function createAccount(
  ctx: EngineContext,
  input: { username: string; password?: string | null; claims?: Record<string, unknown> },
): Promise<SubjectDetails & { account: AccountRecord }> {
  const username = normalizeUsername(input.username);
  if (input.claims !== undefined) checkSubjectClaims(input.claims);
  let passwordHash: string | null = null;
  if (input.password !== undefined && input.password !== null) {
    checkNewPassword(input.password);
    passwordHash = await hashPassword(input.password, ctx.passwordCost);
  }
  const taken = () => new ProlongError("conflict", `username "${username}" is taken`);
  // Checked first so a taken name usually leaves nothing behind; the insert below settles races.
  if (await ctx.store.accounts.findAccountByName(username)) throw taken();
  const now = ctx.clock.now();
  const id = randomId(ctx.random);
  // The subject first: an account never exists without the subject it signs in as.
  let subject = await ctx.store.sessions.ensureSubject(id, now);
  if (input.claims !== undefined) {
    subject = (await ctx.store.sessions.updateSubject(id, { claims: input.claims }, now)) ?? subject;
  }
  const account = await ctx.store.accounts.createAccount({
    subjectId: id,
    username,
    passwordHash,
    createdAt: now,
  });
  if (!account) throw taken();
  return { subject, account };
}

/** The account of a username, in any case and Unicode form; `null` when there is none. */
export function findAccountByName(ctx: EngineContext, username: string): Promise<AccountRecord | null> {
  return ctx.store.accounts.findAccountByName(normalizeUsername(username));
}

/** The account a subject signs in with; `null` when it has none. */
export function findAccountBySubject(ctx: EngineContext, subjectId: string): Promise<AccountRecord | null> {
  return ctx.store.accounts.findAccountBySubject(subjectId);
}

/** A subject with its built-in account. */
export type AccountHolder = SubjectDetails & { account: AccountRecord };

/** Accounts by username, with their subjects; `after` is the last username of the previous page. */
export async function listAccounts(
  ctx: EngineContext,
  options: { limit: number; after?: string },
): Promise<AccountHolder[]> {
  return withSubjects(ctx, await ctx.store.accounts.listAccounts(options));
}

async function withSubjects(
  ctx: EngineContext,
  accounts: readonly AccountRecord[],
): Promise<AccountHolder[]> {
  const subjects = await Promise.all(accounts.map((a) => ctx.store.sessions.findSubject(a.subjectId)));
  // createAccount stores the subject first, so each account has one.
  return accounts.flatMap((account, i) => {
    const subject = subjects[i];
    return subject ? [{ subject, account }] : [];
  });
}

export interface SubjectPage {
  /** Subjects with a built-in account, by username. */
  subjects: AccountHolder[];
  /** Pass as `after` for the next page; `null` when there is none. */
  next: string | null;
}

/**
 * One page of the subjects that have a built-in account, by username. Subjects without
 * one (an application's own users) are not listed: they are found by id.
 */
export async function listSubjects(
  ctx: EngineContext,
  options: { limit: number; after?: string },
): Promise<SubjectPage> {
  if (!Number.isSafeInteger(options.limit) || options.limit < 1) {
    throw new ProlongError("invalid_request", "limit: must be a whole number, 1 or more");
  }
  // One account past the page says whether there is a next one.
  const accounts = await ctx.store.accounts.listAccounts({
    limit: options.limit + 1,
    ...(options.after === undefined ? {} : { after: options.after }),
  });
  const page = accounts.slice(0, options.limit);
  const last = page.at(-1);
  return {
    subjects: await withSubjects(ctx, page),
    next: last && accounts.length > page.length ? last.username : null,
  };
}

/** The subject whose account has this username (in any case and Unicode form); `null` when none. */
export async function findSubjectByUsername(
  ctx: EngineContext,
  username: string,
): Promise<AccountHolder | null> {
  const account = await findAccountByName(ctx, username);
  return account ? ((await withSubjects(ctx, [account]))[0] ?? null) : null;
}

async function storeHash(ctx: EngineContext, subjectId: string, newPassword: string): Promise<void> {
  checkNewPassword(newPassword);
  const hash = await hashPassword(newPassword, ctx.passwordCost);
  if (!(await ctx.store.accounts.updateAccount(subjectId, { passwordHash: hash }, ctx.clock.now()))) {
    throw new ProlongError("not_found", "no such subject, or it has no built-in account");
  }
}

/** Sets a new password without the old one (administrators); ends every session. */
export async function setPassword(ctx: EngineContext, subjectId: string, newPassword: string): Promise<void> {
  await storeHash(ctx, subjectId, newPassword);
  await ctx.events.emit({
    type: "password_changed",
    subjectId,
    sessionId: null,
    by: "admin",
    at: ctx.clock.now(),
  });
  await endSubjectSessions(ctx, subjectId, { reason: "password_change" });
}

/**
 * The subject changes its own password; every other session ends (P8). A wrong current
 * password is recorded like a failed sign-in: a stolen access token must not become a
 * quiet way to guess the password. Returns how many sessions ended.
 */
export async function changePassword(
  ctx: EngineContext,
  input: {
    subjectId: string;
    sessionId: string;
    currentPassword: string;
    newPassword: string;
    ip?: string | null;
  },
): Promise<number> {
  const [account, current] = await Promise.all([
    ctx.store.accounts.findAccountBySubject(input.subjectId),
    ctx.store.sessions.readSession(input.sessionId),
  ]);
  // The password is the user's: an administrator acting as them never changes it.
  if (current) refuseImpersonator(current.session, "changing the password");
  if (!account) throw new ProlongError("not_found", "no such user");
  if (!account.passwordHash || !(await verifyPassword(input.currentPassword, account.passwordHash))) {
    await ctx.events.emit({
      type: "password_change_failed",
      subjectId: input.subjectId,
      sessionId: input.sessionId,
      ip: input.ip ?? null,
      at: ctx.clock.now(),
    });
    throw new ProlongError("invalid_credentials", "current password is wrong");
  }
  await storeHash(ctx, input.subjectId, input.newPassword);
  await ctx.events.emit({
    type: "password_changed",
    subjectId: input.subjectId,
    sessionId: input.sessionId,
    by: "user",
    at: ctx.clock.now(),
  });
  const revoked = await endSubjectSessions(ctx, input.subjectId, {
    exceptId: input.sessionId,
    reason: "password_change",
  });
  return revoked.length;
}
