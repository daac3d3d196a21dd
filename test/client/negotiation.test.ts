/**
 * The client SDK's pure logic: perfect negotiation's collision rule, who offers first, who
 * restarts ICE, socket reconnect back-off and ICE credential refresh timing. The SDK against real
 * browsers: test/e2e.
 */
import { describe, expect, it } from "vitest";
import { CALLEE_RESTART_GRACE_MS, DISCONNECTED_GRACE_MS, iceRefreshDelayMs, iceRestartDelayMs, isFromPeer, onRemoteDescription, reconnectDelayMs, shouldOffer } from "../../client/src/negotiation";

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
