import { utf8Bytes } from "../platform/ids";
import type { CallNotice } from "./call-notice";
import { EndReasonSchema, type CallState, type EndReason } from "./protocol";
import type { CallView, Media, Metadata } from "./schemas";

/**
 * The call's life as a pure state machine: `(call, event, now) → (call', effects)`. No I/O, no
 * clock: the room (room.ts) persists `call'` and then carries out the effects.
 *
 *   ringing ──accept──▶ active ──end──▶ ended (hangup)
 *   ringing ──decline (every callee)──▶ ended (declined)
 *
 * A callee who declined, and once the call is answered every callee but the one who answered,
 * is out of the call: the room closes their sockets and they may no longer join or act.
 *   ringing ──end by caller──▶ ended (cancelled); by a callee ──▶ ended (hangup)
 *   ringing ──ring timeout──▶ ended (missed)
 *   active  ──no socket for UNATTENDED_TIMEOUT──▶ ended (failed)
 *   ended   ──retention passed──▶ purged
 */

/** A call as its room stores it (instants in ms); {@link publicView} is its REST form. */
export interface Call {
  callId: string;
  caller: string;
  callees: string[];
  media: Media;
  metadata?: Metadata;
  state: CallState;
  /** Milliseconds since the epoch, like every instant here. */
  createdAt: number;
  ringDeadline: number;
  answeredAt?: number;
  answeredBy?: string;
  endedAt?: number;
  endReason?: EndReason;
  /** Callees who declined while the call was ringing (a group ring ends when all have). */
  declined: string[];
  /** Set when the last socket of an active call closes, cleared when one joins. */
  unattendedSince?: number;
}

export interface CallLimits {
  ringTimeoutMs: number;
  retentionMs: number;
  unattendedTimeoutMs: number;
}

export type CallEvent =
  | { type: "accept"; userId: string }
  | { type: "decline"; userId: string }
  | { type: "end"; userId: string }
  | { type: "alarm" }
  | { type: "sockets"; open: number };

export type Effect =
  | { type: "notify"; notice: CallNotice }
  /** Close these users' sockets and drop what waits for them or from them: they are out of the call. */
  | { type: "dismiss"; userIds: string[]; reason: Exclude<Standing, "in"> }
  /** Deliver what the answering callee sent before answering (held so no media flows before). */
  | { type: "release-held"; userId: string }
  /** Tell connected sockets the new state; close them all if the call ended. */
  | { type: "broadcast-state" }
  /** Delete the room's storage: the call ended longer ago than the retention period. */
  | { type: "purge" };

export type Outcome =
  | { ok: true; call: Call; effects: Effect[] }
  | { ok: false; code: "forbidden" | "conflict"; message: string };

export type Role = "caller" | "callee";

/** The user's role in the call, or undefined for anyone else. */
export function roleOf(call: Call, userId: string): Role | undefined {
  if (call.caller === userId) return "caller";
  return call.callees.includes(userId) ? "callee" : undefined;
}

/** Whether a participant is still in the call, or why not. */
export type Standing = "in" | "declined" | "answered-elsewhere";

/** A participant's standing: a callee leaves the call by declining, or when another callee answers. */
export function standingOf(call: Call, userId: string): Standing {
  if (call.declined.includes(userId)) return "declined";
  if (call.answeredBy !== undefined && userId !== call.caller && userId !== call.answeredBy) return "answered-elsewhere";
  return "in";
}

/** Why someone out of the call may not join or act, in a client author's words. */
export const OUT_OF_CALL: Record<Exclude<Standing, "in">, string> = {
  declined: "you declined this call",
  "answered-elsewhere": "another callee answered this call",
};

/** The users who still take part: the caller, the callee who answered, or every callee still rung. */
export const inCall = (call: Call): string[] => [call.caller, ...call.callees].filter((userId) => standingOf(call, userId) === "in");

/** A new ringing call, and the incoming-call notification for every callee. */
export function createCall(
  input: { callId: string; caller: string; callees: string[]; media: Media; metadata?: Metadata },
  now: number,
  limits: CallLimits,
): { call: Call; effects: Effect[] } {
  const call: Call = {
    callId: input.callId,
    caller: input.caller,
    callees: [...new Set(input.callees)],
    media: input.media,
    ...(input.metadata ? { metadata: input.metadata } : {}),
    state: "ringing",
    createdAt: now,
    ringDeadline: now + limits.ringTimeoutMs,
    declined: [],
  };
  return { call, effects: [notify(call, "incoming-call", call.callees, now, { ringsUntil: call.ringDeadline })] };
}

/**
 * Applies one event. Refusals say why: `forbidden` when this user may never do it, `conflict`
 * when the call's current state does not allow it.
 */
export function transition(call: Call, event: CallEvent, now: number, limits: CallLimits): Outcome {
  switch (event.type) {
    case "accept": {
      const refused = refuse(call, event.userId, "accept");
      if (refused) return refused;
      const answered: Call = { ...call, state: "active", answeredAt: now, answeredBy: event.userId };
      const others = call.callees.filter((callee) => callee !== event.userId);
      return {
        ok: true,
        call: answered,
        effects: [
          { type: "broadcast-state" },
          ...(others.length > 0 ? [{ type: "dismiss", userIds: others, reason: "answered-elsewhere" } as const] : []),
          { type: "release-held", userId: event.userId },
          // Stops the ringing everywhere else: the answering callee's other devices and other callees.
          notify(answered, "call-answered", ringingCallees(call), now, { answeredBy: event.userId }),
        ],
      };
    }
    case "decline": {
      const refused = refuse(call, event.userId, "decline");
      if (refused) return refused;
      const declined = [...call.declined, event.userId];
      if (declined.length < call.callees.length) {
        // Others are still being rung; only this callee's devices stop.
        return {
          ok: true,
          call: { ...call, declined },
          effects: [{ type: "dismiss", userIds: [event.userId], reason: "declined" }, notify(call, "call-ended", [event.userId], now, { reason: "declined" })],
        };
      }
      return end({ ...call, declined }, "declined", now, [event.userId]);
    }
    case "end": {
      if (!roleOf(call, event.userId)) return { ok: false, code: "forbidden", message: "not a participant of this call" };
      if (call.state === "ended") return { ok: false, code: "conflict", message: "the call has already ended" };
      const standing = standingOf(call, event.userId);
      if (standing !== "in") return { ok: false, code: "forbidden", message: OUT_OF_CALL[standing] };
      const reason = call.state === "ringing" && event.userId === call.caller ? "cancelled" : "hangup";
      return end(call, reason, now);
    }
    case "alarm":
      return onAlarm(call, now, limits);
    case "sockets": {
      if (call.state !== "active") return { ok: true, call, effects: [] };
      if (event.open > 0) {
        const { unattendedSince: _cleared, ...attended } = call;
        return { ok: true, call: attended, effects: [] };
      }
      return { ok: true, call: call.unattendedSince === undefined ? { ...call, unattendedSince: now } : call, effects: [] };
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown call event ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Every notice a new call may still cause, each at its largest (the callee with the longest id as
 * the one who answers, the longest end reason): what the room checks its notifier can carry
 * before the call rings, so that no push of the call is refused as too large later.
 */
export function possibleNotices(call: Call): CallNotice[] {
  // Longest as the payloads carry them: JSON-escaped, in bytes of UTF-8.
  const longest = <T extends string>(values: readonly T[]): T => values.reduce((a, b) => (utf8Bytes(JSON.stringify(b)) > utf8Bytes(JSON.stringify(a)) ? b : a));
  const at = call.createdAt;
  return [
    notify(call, "incoming-call", call.callees, at, { ringsUntil: call.ringDeadline }),
    notify(call, "call-answered", call.callees, at, { answeredBy: longest(call.callees) }),
    notify(call, "call-ended", call.callees, at, { reason: longest(EndReasonSchema.options) }),
    notify(call, "missed-call", call.callees, at),
  ].flatMap((effect) => (effect.type === "notify" ? [effect.notice] : []));
}

/** When the room's alarm must next fire for this call, if ever. */
export function nextAlarm(call: Call, limits: CallLimits): number | undefined {
  switch (call.state) {
    case "ringing":
      return call.ringDeadline;
    case "active":
      return call.unattendedSince === undefined ? undefined : call.unattendedSince + limits.unattendedTimeoutMs;
    case "ended":
      return (call.endedAt ?? call.createdAt) + limits.retentionMs;
  }
}

/**
 * A call as a room reports it to its participants' lines (line.ts; instants in ms): the room's own
 * record, without what only the room needs, and with its ring deadline as `ringsUntil`.
 */
export type LineCall = Omit<Call, "ringDeadline" | "unattendedSince"> & { ringsUntil: number };

/** The call as its participants' lines keep it: what the room sends them after every change. */
export function lineCall(call: Call): LineCall {
  const { ringDeadline, unattendedSince: _roomOnly, ...shared } = call;
  return { ...shared, ringsUntil: ringDeadline };
}

/** The call as the REST API shows it (section 4.1), instants as ISO 8601. */
export function publicView(call: Call): CallView {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    callId: call.callId,
    state: call.state,
    caller: call.caller,
    callees: call.callees,
    media: call.media,
    createdAt: iso(call.createdAt),
    ...(call.metadata ? { metadata: call.metadata } : {}),
    ...(call.answeredAt !== undefined ? { answeredAt: iso(call.answeredAt), answeredBy: call.answeredBy } : {}),
    ...(call.endedAt !== undefined ? { endedAt: iso(call.endedAt), endReason: call.endReason } : {}),
  };
}

// Alarms are at-least-once: the handler decides from the state and the clock, never from the
// fact that it fired, so a second run after the first changed the state does nothing.
function onAlarm(call: Call, now: number, limits: CallLimits): Outcome {
  if (call.state === "ringing" && now >= call.ringDeadline) {
    const missed = finish(call, "missed", now);
    return { ok: true, call: missed, effects: [{ type: "broadcast-state" }, notify(missed, "missed-call", ringingCallees(call), now)] };
  }
  if (call.state === "active" && call.unattendedSince !== undefined && now >= call.unattendedSince + limits.unattendedTimeoutMs) {
    return end(call, "failed", now);
  }
  if (call.state === "ended" && now >= (call.endedAt ?? call.createdAt) + limits.retentionMs) {
    return { ok: true, call, effects: [{ type: "purge" }] };
  }
  return { ok: true, call, effects: [] };
}

function refuse(call: Call, userId: string, action: "accept" | "decline"): Outcome | undefined {
  const role = roleOf(call, userId);
  if (!role) return { ok: false, code: "forbidden", message: "not a participant of this call" };
  if (role === "caller") return { ok: false, code: "forbidden", message: `only a callee may ${action}` };
  if (call.state === "ended") return { ok: false, code: "conflict", message: "the call has already ended" };
  if (call.state === "active") return { ok: false, code: "conflict", message: "the call has already been answered" };
  if (call.declined.includes(userId)) return { ok: false, code: "conflict", message: "you have already declined this call" };
  return undefined;
}

function end(call: Call, reason: EndReason, now: number, alreadyTold: string[] = []): Outcome {
  const ended = finish(call, reason, now);
  const recipients = call.callees.filter((callee) => !call.declined.includes(callee) || alreadyTold.includes(callee));
  return { ok: true, call: ended, effects: [{ type: "broadcast-state" }, notify(ended, "call-ended", recipients, now, { reason })] };
}

function finish(call: Call, reason: EndReason, now: number): Call {
  const { unattendedSince: _cleared, ...rest } = call;
  return { ...rest, state: "ended", endedAt: now, endReason: reason };
}

const ringingCallees = (call: Call) => call.callees.filter((callee) => !call.declined.includes(callee));

function notify(
  call: Call,
  kind: CallNotice["kind"],
  recipients: string[],
  at: number,
  extra: { reason?: EndReason; answeredBy?: string; ringsUntil?: number } = {},
): Effect {
  return {
    type: "notify",
    notice: {
      kind,
      callId: call.callId,
      recipients,
      caller: call.caller,
      media: call.media,
      ...(call.metadata ? { metadata: call.metadata } : {}),
      ...extra,
      at,
    },
  };
}
