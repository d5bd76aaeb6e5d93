import {
  type AccountHolder,
  SECURITY_EVENT_TYPES,
  type SecurityEvent,
  type SessionRecord,
  type SubjectDetails,
  sessionEndsAt,
  sessionState,
} from "@prolong/core";
import { z } from "zod";
import { limitParam, textParam } from "../request-body.js";

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** A subject as the admin API shows it: its standing and its account's username, if any. */
export function describeSubject({ subject, account }: SubjectDetails | AccountHolder) {
  return {
    id: subject.id,
    username: account?.username ?? null,
    disabled: subject.disabled,
    token_version: subject.tokenVersion,
    reauth_required_at: isoOrNull(subject.reauthRequiredAt),
    claims: subject.claims,
    created_at: iso(subject.createdAt),
  };
}

/** A session as the admin API shows it: whose, and how it ended; never a hash or a generation. */
export function describeAdminSession(session: SessionRecord, now: number) {
  return {
    id: session.id,
    subject_id: session.subjectId,
    client_id: session.clientId,
    device_name: session.deviceName,
    user_agent: session.userAgent,
    ip: session.ip,
    created_at: iso(session.createdAt),
    auth_time: iso(session.authTime),
    last_active_at: iso(session.lastActiveAt),
    expires_at: isoOrNull(sessionEndsAt(session)),
    state: sessionState(session, now),
    revoked_at: isoOrNull(session.revokedAt),
    revoked_reason: session.revokedReason,
    acr: session.acr,
    amr: session.amr,
    impersonated_by: session.actor,
  };
}

/** A security event as the admin API shows it. */
export function describeEvent(event: SecurityEvent) {
  return {
    id: event.id,
    type: event.type,
    subject_id: event.subjectId,
    session_id: event.sessionId,
    at: iso(event.at),
    detail: event.detail,
  };
}

/** Every listing pages with `limit` (default 100) and the `next` of the previous answer. */
const page = { limit: limitParam.optional(), after: textParam(200).optional() };

/** `GET /admin/subjects`: a page of the subjects with an account, or the one with `username`. */
export const subjectsQuery = z
  .object({ username: textParam(256).optional(), ...page })
  .strict()
  .refine((q) => q.username === undefined || q.after === undefined, {
    path: ["after"],
    error: "cannot be combined with username, which names one subject",
  });

/** `GET /admin/subjects/:id/sessions`. */
export const sessionsQuery = z
  .object({ client: textParam(100).optional(), state: z.enum(["live", "all"]).optional(), ...page })
  .strict();

const eventFilters = {
  type: z.enum(SECURITY_EVENT_TYPES as [string, ...string[]]).optional(),
  session: textParam(200).optional(),
  ...page,
};

/** `GET /admin/subjects/:id/events`: the subject is in the path. */
export const subjectEventsQuery = z.object(eventFilters).strict();

/** `GET /admin/events`. */
export const eventsQuery = z.object({ subject: textParam(200).optional(), ...eventFilters }).strict();

export const DEFAULT_PAGE = 100;
