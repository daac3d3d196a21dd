/**
 * The client SDK's pure logic: perfect negotiation's collision rule, who offers first, who
 * restarts ICE, when a broken connection fetches a fresh ICE list, socket reconnect back-off, ICE
 * credential refresh timing, and the line's list of ringing calls. The SDK against real browsers: test/e2e.
 */
import { describe, expect, it } from "vitest";
import type { IncomingCall } from "../../src/calls/line-protocol";
import { CALLEE_RESTART_GRACE_MS, DISCONNECTED_GRACE_MS, ICE_REFETCH_INTERVAL_MS, iceRefreshDelayMs, iceRestartDelayMs, isFromPeer, nextRinging, onRemoteDescription, reconnectDelayMs, shouldOffer, shouldRefetchIceServers } from "../../client/src/negotiation";

describe("onRemoteDescription (perfect negotiation)", () => {
  const stable = { makingOffer: false, isSettingRemoteAnswerPending: false, signalingState: "stable" as const };
  it.each([
    ["an offer when stable", "offer", false, stable, "apply"],
    ["an answer to our offer", "answer", false, { ...stable, signalingState: "have-local-offer" as const }, "apply"],
    ["a colliding offer, impolite", "offer", false, { ...stable, makingOffer: true }, "ignore"],
    ["a colliding offer, polite", "offer", true, { ...stable, makingOffer: true }, "apply"],
    ["an offer while we have one out, impolite", "offer", false, { ...stable, signalingState: "have-local-offer" as const }, "ignore"],
    ["an offer while we have one out, polite (rollback)", "offer", true, { ...stable, signalingState: "have-local-offer" as const }, "apply"],
    ["an offer while applying an answer", "offer", false, { ...stable, signalingState: "have-local-offer" as const, isSettingRemoteAnswerPending: true }, "apply"],
  ] as const)("%s → %s", (_name, type, polite, state, expected) => {
    expect(onRemoteDescription(type, polite, state)).toBe(expected);
  });
});

describe("shouldOffer", () => {
  it("lets the caller offer at once and the callee only after the caller's first offer", () => {
    expect(shouldOffer(false, false)).toBe(true);
    expect(shouldOffer(false, true)).toBe(true);
    expect(shouldOffer(true, false)).toBe(false);
    expect(shouldOffer(true, true)).toBe(true);
  });
});

describe("iceRestartDelayMs", () => {
  it("restarts a failed connection at once on the caller, and gives the caller a head start on the callee", () => {
    expect(iceRestartDelayMs(false, "failed")).toBe(0);
    expect(iceRestartDelayMs(true, "failed")).toBe(CALLEE_RESTART_GRACE_MS);
    expect(CALLEE_RESTART_GRACE_MS).toBeGreaterThan(0);
  });

  it("lets a disconnected connection recover on its own for a grace period first", () => {
    expect(iceRestartDelayMs(false, "disconnected")).toBe(DISCONNECTED_GRACE_MS);
    expect(iceRestartDelayMs(true, "disconnected")).toBe(DISCONNECTED_GRACE_MS + CALLEE_RESTART_GRACE_MS);
  });
});

describe("shouldRefetchIceServers (a broken connection asks for a fresh ICE list)", () => {
  it("fetches at the first sign of trouble, then at most once per interval", () => {
    const t0 = 1_000_000;
    expect(shouldRefetchIceServers(undefined, t0)).toBe(true);
    expect(shouldRefetchIceServers(t0, t0 + 1)).toBe(false);
    expect(shouldRefetchIceServers(t0, t0 + ICE_REFETCH_INTERVAL_MS - 1)).toBe(false);
    expect(shouldRefetchIceServers(t0, t0 + ICE_REFETCH_INTERVAL_MS)).toBe(true);
  });

  it("fetches once for a disconnect and the caller's restart that follows it", () => {
    expect(ICE_REFETCH_INTERVAL_MS).toBeGreaterThan(iceRestartDelayMs(false, "disconnected"));
  });
});

describe("reconnectDelayMs", () => {
  it("grows exponentially from 250 ms with jitter, capped at 10 s", () => {
    expect([0, 1, 2, 3].map((attempt) => reconnectDelayMs(attempt, () => 1))).toEqual([250, 500, 1000, 2000]);
    expect([0, 1, 2, 3].map((attempt) => reconnectDelayMs(attempt, () => 0))).toEqual([125, 250, 500, 1000]);
    expect(reconnectDelayMs(30, () => 1)).toBe(10_000);
  });
});

describe("iceRefreshDelayMs", () => {
  const now = Date.parse("2026-11-24T12:00:00Z");
  it.each([
    ["a day left: 5 minutes before expiry", "2026-11-25T12:00:00Z", 86_400_000 - 300_000],
    ["10 minutes left: at 80 %", "2026-11-24T12:10:00Z", 480_000],
    ["2 minutes left: at 80 %", "2026-11-24T12:02:00Z", 96_000],
    ["already expired: in 5 s", "2026-11-24T11:00:00Z", 5_000],
  ])("%s", (_name, expiresAt, delay) => {
    expect(iceRefreshDelayMs(expiresAt, now)).toBe(delay);
  });
});

describe("isFromPeer", () => {
  it("lets only the call's other side drive the peer connection", () => {
    expect(isFromPeer("alice", "alice")).toBe(true);
    // A third user in the room (another callee, anyone) never does.
    expect(isFromPeer("mallory", "alice")).toBe(false);
    // The caller before anyone answered has no peer yet.
    expect(isFromPeer("bob", undefined)).toBe(false);
  });
});

describe("nextRinging", () => {
  const incoming = (callId: string, caller = "alice"): IncomingCall => ({
    callId,
    caller,
    callees: ["bob"],
    media: "video",
    createdAt: "2026-11-24T12:00:00.000Z",
    ringsUntil: "2026-11-24T12:00:45.000Z",
    wsPath: `/v1/calls/${callId}/ws`,
  });
  const ringing = (...calls: IncomingCall[]) => new Map(calls.map((call) => [call.callId, call]));

  it("takes the welcome's list as the whole truth: new calls are added, vanished ones removed", () => {
    const { ringing: next, added, removed } = nextRinging(ringing(incoming("c1"), incoming("c2")), { type: "welcome", userId: "bob", calls: [incoming("c2"), incoming("c3")] });
    expect([...next.keys()]).toEqual(["c2", "c3"]);
    // c2 was known before the reconnect: not announced again.
    expect(added.map((call) => call.callId)).toEqual(["c3"]);
    expect(removed).toEqual(["c1"]);
  });

  it("adds an incoming call once, even if the frame comes twice", () => {
    const first = nextRinging(new Map(), { type: "incoming-call", call: incoming("c1") });
    expect(first.added.map((call) => call.callId)).toEqual(["c1"]);
    const again = nextRinging(first.ringing, { type: "incoming-call", call: incoming("c1") });
    expect(again.added).toEqual([]);
    expect([...again.ringing.keys()]).toEqual(["c1"]);
  });

  it.each([
    ["answered on another tab", { callId: "c1", state: "active", answeredBy: "bob" }],
    ["answered by another callee", { callId: "c1", state: "active", answeredBy: "carol" }],
    ["declined by the user", { callId: "c1", state: "ended", endReason: "declined" }],
    ["cancelled by the caller", { callId: "c1", state: "ended", endReason: "cancelled" }],
    ["missed", { callId: "c1", state: "ended", endReason: "missed" }],
  ] as const)("stops ringing a call %s", (_name, update) => {
    const { ringing: next, removed } = nextRinging(ringing(incoming("c1"), incoming("c2")), { type: "call-update", call: update });
    expect([...next.keys()]).toEqual(["c2"]);
    expect(removed).toEqual(["c1"]);
  });

  it("leaves the list alone for a call still ringing, an outgoing call, and frames that carry no calls", () => {
    const before = ringing(incoming("c1"));
    for (const frame of [
      { type: "call-update", call: { callId: "c1", state: "ringing" } },
      { type: "call-update", call: { callId: "mine", state: "active", answeredBy: "carol" } },
      { type: "pong" },
      { type: "error", code: "invalid_frame", message: "no" },
    ] as const) {
      const { ringing: next, added, removed } = nextRinging(before, frame);
      expect([...next.keys()]).toEqual(["c1"]);
      expect([added, removed]).toEqual([[], []]);
    }
  });
});
