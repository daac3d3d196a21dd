import type { MetricEvent } from "../metrics/events";
import { record } from "../metrics/recorder";
import type { Call } from "./machine";

/**
 * What a change of a call means to the operator's counters: placed, answered, missed, ended
 * (reason, talk time). Derived from the call before and after a commit only, so an alarm that
 * commits the same state again, or a socket count change, says nothing.
 *
 * @example
 * callEvents(ringing, { ...ringing, state: "active", answeredAt }); // [{ type: "call", phase: "answered", ringMs }]
 */
export function callEvents(before: Call | undefined, after: Call): MetricEvent[] {
  const events: MetricEvent[] = [];
  const known = before?.callId === after.callId ? before : undefined;
  if (!known) events.push({ type: "call", phase: "placed", callees: after.callees.length, media: after.media, at: after.createdAt });
  if (known?.answeredAt === undefined && after.answeredAt !== undefined) {
    events.push({ type: "call", phase: "answered", ringMs: after.answeredAt - after.createdAt, at: after.answeredAt });
  }
  if (known?.state !== "ended" && after.state === "ended" && after.endedAt !== undefined) {
    if (after.endReason === "missed") events.push({ type: "call", phase: "missed", at: after.endedAt });
    const { answeredAt, endedAt } = after;
    const answered = answeredAt !== undefined;
    events.push({ type: "call", phase: "ended", reason: after.endReason ?? "unknown", answered, durationMs: answered ? endedAt - answeredAt : 0, at: endedAt });
  }
  return events;
}

/** Records a committed change of a call (fire-and-forget: the call path never waits for it). */
export function recordCallChange(env: Env, before: Call | undefined, after: Call): void {
  const events = callEvents(before, after);
  if (events.length > 0) record(env, ...events);
}
