/**
 * The call state machine as tables: every transition and refusal of section 4.1, which
 * notifications each decides and for whom, when the alarm is due, and that alarms are idempotent.
 * The room that persists and applies these is tested in room.test.ts.
 */
import { describe, expect, it } from "vitest";
import { createCall, nextAlarm, publicView, transition, type Call, type CallEvent, type Outcome } from "../../src/calls/machine";

const limits = { ringTimeoutMs: 45_000, retentionMs: 86_400_000, unattendedTimeoutMs: 120_000 };
const T0 = Date.parse("2026-11-24T12:00:00Z");

function ringing(callees = ["bob"]): Call {
  return createCall({ callId: "call-1", caller: "alice", callees, media: "video" }, T0, limits).call;
}

function apply(call: Call, ...events: [CallEvent, number][]): Outcome {
  let outcome: Outcome = { ok: true, call, effects: [] };
  for (const [event, at] of events) {
    if (!outcome.ok) return outcome;
    outcome = transition(outcome.call, event, at, limits);
  }
  return outcome;
}

const ok = (outcome: Outcome) => {
  if (!outcome.ok) throw new Error(`refused: ${outcome.message}`);
  return outcome;
};
const notified = (outcome: Outcome) =>
  ok(outcome).effects.flatMap((effect) => (effect.type === "notify" ? [[effect.notice.kind, effect.notice.recipients, effect.notice.reason]] : []));

describe("createCall", () => {
  it("rings every callee once", () => {
    const { call, effects } = createCall({ callId: "c", caller: "alice", callees: ["bob", "carol", "bob"], media: "audio" }, T0, limits);
    expect(call).toMatchObject({ state: "ringing", callees: ["bob", "carol"], createdAt: T0, ringDeadline: T0 + 45_000, declined: [] });
    expect(effects).toEqual([
      {
        type: "notify",
        notice: { kind: "incoming-call", callId: "c", recipients: ["bob", "carol"], caller: "alice", media: "audio", ringsUntil: T0 + 45_000, at: T0 },
      },
    ]);
  });
});

describe("transitions", () => {
  it.each<[string, CallEvent[], Partial<Call>]>([
    ["callee accepts", [{ type: "accept", userId: "bob" }], { state: "active", answeredAt: T0 + 1, answeredBy: "bob" }],
    ["callee declines", [{ type: "decline", userId: "bob" }], { state: "ended", endReason: "declined", endedAt: T0 + 1 }],
    ["caller cancels while ringing", [{ type: "end", userId: "alice" }], { state: "ended", endReason: "cancelled" }],
    ["callee ends while ringing", [{ type: "end", userId: "bob" }], { state: "ended", endReason: "hangup" }],
    ["caller hangs up", [{ type: "accept", userId: "bob" }, { type: "end", userId: "alice" }], { state: "ended", endReason: "hangup" }],
    ["callee hangs up", [{ type: "accept", userId: "bob" }, { type: "end", userId: "bob" }], { state: "ended", endReason: "hangup" }],
  ])("%s", (_name, events, expected) => {
    expect(ok(apply(ringing(), ...events.map((event, i): [CallEvent, number] => [event, T0 + 1 + i]))).call).toMatchObject(expected);
  });

  it.each<[string, CallEvent[], CallEvent, "forbidden" | "conflict"]>([
    ["a stranger accepts", [], { type: "accept", userId: "mallory" }, "forbidden"],
    ["a stranger ends", [], { type: "end", userId: "mallory" }, "forbidden"],
    ["the caller accepts", [], { type: "accept", userId: "alice" }, "forbidden"],
    ["the caller declines", [], { type: "decline", userId: "alice" }, "forbidden"],
    ["accept twice", [{ type: "accept", userId: "bob" }], { type: "accept", userId: "bob" }, "conflict"],
    ["decline an active call", [{ type: "accept", userId: "bob" }], { type: "decline", userId: "bob" }, "conflict"],
    ["accept an ended call", [{ type: "end", userId: "alice" }], { type: "accept", userId: "bob" }, "conflict"],
    ["end an ended call", [{ type: "decline", userId: "bob" }], { type: "end", userId: "alice" }, "conflict"],
  ])("refuses: %s", (_name, before, event, code) => {
    const prior = ok(apply(ringing(), ...before.map((e): [CallEvent, number] => [e, T0 + 1])));
    expect(transition(prior.call, event, T0 + 2, limits)).toMatchObject({ ok: false, code });
  });
});

describe("notifications decided", () => {
  it("accept: call-answered to every callee still ringing, naming who answered", () => {
    const outcome = apply(ringing(["bob", "carol"]), [{ type: "accept", userId: "carol" }, T0 + 5]);
    expect(notified(outcome)).toEqual([["call-answered", ["bob", "carol"], undefined]]);
    expect(ok(outcome).effects).toContainEqual({ type: "broadcast-state" });
  });

  it("a group ring keeps ringing until every callee declined", () => {
    const first = apply(ringing(["bob", "carol"]), [{ type: "decline", userId: "bob" }, T0 + 1]);
    expect(ok(first).call.state).toBe("ringing");
    expect(notified(first)).toEqual([["call-ended", ["bob"], "declined"]]);
    const second = transition(ok(first).call, { type: "decline", userId: "carol" }, T0 + 2, limits);
    expect(ok(second).call).toMatchObject({ state: "ended", endReason: "declined" });
    expect(notified(second)).toEqual([["call-ended", ["carol"], "declined"]]);
    expect(transition(ok(first).call, { type: "decline", userId: "bob" }, T0 + 2, limits)).toMatchObject({ ok: false, code: "conflict" });
  });

  it("end: call-ended to the callees who have not declined", () => {
    const outcome = apply(ringing(["bob", "carol"]), [{ type: "decline", userId: "bob" }, T0 + 1], [{ type: "end", userId: "alice" }, T0 + 2]);
    expect(notified(outcome).at(-1)).toEqual(["call-ended", ["carol"], "cancelled"]);
  });

  it("missed: missed-call to every callee still ringing, and no call-ended", () => {
    const outcome = apply(ringing(["bob", "carol"]), [{ type: "decline", userId: "carol" }, T0 + 1], [{ type: "alarm" }, T0 + 45_000]);
    expect(ok(outcome).call).toMatchObject({ state: "ended", endReason: "missed", endedAt: T0 + 45_000 });
    expect(notified(outcome).at(-1)).toEqual(["missed-call", ["bob"], undefined]);
  });
});

describe("alarms", () => {
  it("is due at the ring deadline while ringing, at retention's end once ended", () => {
    const call = ringing();
    expect(nextAlarm(call, limits)).toBe(T0 + 45_000);
    const active = ok(apply(call, [{ type: "accept", userId: "bob" }, T0 + 10])).call;
    expect(nextAlarm(active, limits)).toBeUndefined();
    const ended = ok(apply(active, [{ type: "end", userId: "bob" }, T0 + 100])).call;
    expect(nextAlarm(ended, limits)).toBe(T0 + 100 + 86_400_000);
  });

  it("does nothing when it fires early or after the call moved on (at-least-once delivery)", () => {
    const early = transition(ringing(), { type: "alarm" }, T0 + 44_999, limits);
    expect(ok(early)).toMatchObject({ call: { state: "ringing" }, effects: [] });
    const missed = ok(transition(ringing(), { type: "alarm" }, T0 + 45_000, limits)).call;
    expect(transition(missed, { type: "alarm" }, T0 + 45_001, limits)).toEqual({ ok: true, call: missed, effects: [] });
    const active = ok(apply(ringing(), [{ type: "accept", userId: "bob" }, T0 + 1])).call;
    expect(transition(active, { type: "alarm" }, T0 + 46_000, limits)).toEqual({ ok: true, call: active, effects: [] });
  });

  it("purges an ended call once retention has passed", () => {
    const ended = ok(apply(ringing(), [{ type: "end", userId: "alice" }, T0 + 1])).call;
    expect(ok(transition(ended, { type: "alarm" }, T0 + 1 + 86_400_000, limits)).effects).toEqual([{ type: "purge" }]);
  });

  it("ends an active call as failed when no socket came back in time", () => {
    const active = ok(apply(ringing(), [{ type: "accept", userId: "bob" }, T0 + 1], [{ type: "sockets", open: 0 }, T0 + 2])).call;
    expect(active.unattendedSince).toBe(T0 + 2);
    expect(nextAlarm(active, limits)).toBe(T0 + 2 + 120_000);
    const back = ok(transition(active, { type: "sockets", open: 1 }, T0 + 3, limits)).call;
    expect(back.unattendedSince).toBeUndefined();
    const failed = transition(active, { type: "alarm" }, T0 + 2 + 120_000, limits);
    expect(ok(failed).call).toMatchObject({ state: "ended", endReason: "failed" });
    expect(notified(failed)).toEqual([["call-ended", ["bob"], "failed"]]);
  });
});

describe("publicView", () => {
  it("shows the contract's fields with ISO 8601 instants", () => {
    const ended = ok(apply(ringing(), [{ type: "accept", userId: "bob" }, T0 + 1000], [{ type: "end", userId: "alice" }, T0 + 61_000])).call;
    expect(publicView(ended)).toEqual({
      callId: "call-1",
      state: "ended",
      caller: "alice",
      callees: ["bob"],
      media: "video",
      createdAt: "2026-11-24T12:00:00.000Z",
      answeredAt: "2026-11-24T12:00:01.000Z",
      answeredBy: "bob",
      endedAt: "2026-11-24T12:01:01.000Z",
      endReason: "hangup",
    });
  });
});
