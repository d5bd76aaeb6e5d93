import { type RandomSource, randomId } from "../random.js";
import type { AuditLog, SecurityEvent } from "../store/index.js";
import type { EngineEvent, EngineListener } from "./events.js";

/**
 * Whether the log keeps each kind of engine event, so a new kind must choose (routine
 * traffic, refreshes and exchanges, is left to the metrics).
 */
const KEPT: Record<EngineEvent["type"], boolean> = {
  signed_in: true,
  sign_in_failed: true,
  reuse_detected: true,
  session_revoked: true,
  logout_everywhere: true,
  user_disabled: true,
  reauth_required: true,
  password_changed: true,
  password_change_failed: true,
  session_evicted: true,
  stepped_up: true,
  refreshed: false,
  exchanged: false,
};

/** The `type`s the security-event log holds: what an administrator may filter it by. */
export const SECURITY_EVENT_TYPES: readonly EngineEvent["type"][] = (
  Object.keys(KEPT) as EngineEvent["type"][]
).filter((type) => KEPT[type]);

/**
 * The security-event log as a subscriber of engine events: what an administrator reads
 * back (`GET /admin/events`). Routine traffic (refreshes, exchanges) and
 * failed sign-ins of unknown usernames stay out; the metrics count those.
 */
export function auditRecorder(log: AuditLog, random: RandomSource): EngineListener {
  return (event) => {
    const detail = KEPT[event.type] ? detailOf(event) : null;
    if (detail === null) return;
    const record: SecurityEvent = {
      id: randomId(random),
      type: event.type,
      subjectId: event.subjectId,
      sessionId: "sessionId" in event ? event.sessionId : null,
      at: event.at,
      detail,
    };
    return log.record(record);
  };
}

/** What the log keeps of an event (small and secret-free), or `null` to keep nothing. */
function detailOf(event: EngineEvent): Record<string, unknown> | null {
  switch (event.type) {
    case "signed_in":
      return event.actor === null
        ? { clientId: event.clientId, ip: event.ip }
        : { clientId: event.clientId, ip: event.ip, actor: event.actor };
    case "session_evicted":
      return { by: event.by };
    case "stepped_up":
      return { acr: event.acr, amr: event.amr };
    case "sign_in_failed":
      return event.subjectId === null ? null : { ip: event.ip };
    case "reuse_detected":
      return { generation: event.generation };
    case "session_revoked":
      return event.actor ? { reason: event.reason, actor: event.actor } : { reason: event.reason };
    case "logout_everywhere":
      return { version: event.version };
    case "password_changed":
      return { by: event.by };
    case "password_change_failed":
      return { ip: event.ip };
    case "user_disabled":
    case "reauth_required":
      return {};
    case "refreshed":
    case "exchanged":
      return null;
  }
}
