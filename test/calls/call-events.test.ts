/**
 * The call events derived from a commit's (before, after): placed once, answered once, missed and
 * ended once with the reason and the talk time, and nothing for a commit that changes nothing an
 * operator counts (an alarm re-arming, a socket count). Pure; the room's use of it is covered by
 * test/ops/stats.test.ts, which places real calls and reads the stats.
 */
import { describe, expect, it } from "vitest";
import { callEvents } from "../../src/calls/call-events";
import { createCall, transition, type Call } from "../../src/calls/machine";

const limits = { ringTimeoutMs: 45_000, retentionMs: 86_400_000, unattendedTimeoutMs: 120_000 };
const t0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const ringing = createCall({ callId: "call-1", caller: "alice", callees: ["bob", "carol"], media: "audio" }, t0, limits).call;
const step = (call: Call, event: Parameters<typeof transition>[1], at: number): Call => {
  const outcome = transition(call, event, at, limits);
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.call;
};

describe("callEvents", () => {
  it("a new call is placed", () => {
    expect(callEvents(undefined, ringing)).toEqual([{ type: "call", phase: "placed", callees: 2, media: "audio", at: t0 }]);
  });

  it("an answer, then a hang-up with its talk time", () => {
    const active = step(ringing, { type: "accept", userId: "bob" }, t0 + 4000);
    expect(callEvents(ringing, active)).toEqual([{ type: "call", phase: "answered", ringMs: 4000, at: t0 + 4000 }]);
    const ended = step(active, { type: "end", userId: "alice" }, t0 + 64_000);
    expect(callEvents(active, ended)).toEqual([{ type: "call", phase: "ended", reason: "hangup", answered: true, durationMs: 60_000, at: t0 + 64_000 }]);
  });

  it("a call that rings out is missed and ended unanswered", () => {
    const missed = step(ringing, { type: "alarm" }, t0 + 45_000);
    expect(callEvents(ringing, missed)).toEqual([
      { type: "call", phase: "missed", at: t0 + 45_000 },
      { type: "call", phase: "ended", reason: "missed", answered: false, durationMs: 0, at: t0 + 45_000 },
    ]);
  });

  it("a cancelled or declined call ends unanswered", () => {
    expect(callEvents(ringing, step(ringing, { type: "end", userId: "alice" }, t0 + 1000))).toEqual([
      { type: "call", phase: "ended", reason: "cancelled", answered: false, durationMs: 0, at: t0 + 1000 },
    ]);
    const oneDeclined = step(ringing, { type: "decline", userId: "bob" }, t0 + 1000);
    expect(callEvents(ringing, oneDeclined)).toEqual([]);
    expect(callEvents(oneDeclined, step(oneDeclined, { type: "decline", userId: "carol" }, t0 + 2000))).toEqual([
      { type: "call", phase: "ended", reason: "declined", answered: false, durationMs: 0, at: t0 + 2000 },
    ]);
  });

  it("says nothing for a commit an operator does not count", () => {
    const active = step(ringing, { type: "accept", userId: "bob" }, t0 + 4000);
    expect(callEvents(active, active)).toEqual([]);
    expect(callEvents(active, step(active, { type: "sockets", open: 0 }, t0 + 5000))).toEqual([]);
    const ended = step(active, { type: "end", userId: "bob" }, t0 + 9000);
    expect(callEvents(ended, ended)).toEqual([]);
  });

  it("takes a different call in the cache as no call before", () => {
    const other = createCall({ callId: "call-2", caller: "dave", callees: ["erin"], media: "video" }, t0 + 1, limits).call;
    expect(callEvents(ringing, other)).toEqual([{ type: "call", phase: "placed", callees: 1, media: "video", at: t0 + 1 }]);
  });
});
