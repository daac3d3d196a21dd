/**
 * How the Worker chooses each new call's admission (src/calls/admission.ts): rung while the
 * limiter is asked only while this isolate's own count shows room and the caller was not refused
 * lately, asked first otherwise. Pure; the room's side (withdrawing a refused call) is in
 * test/meta/request-limits.test.ts.
 */
import { describe, expect, it } from "vitest";
import { CallStarts } from "../../src/calls/admission";

const MINUTE = 60_000;

describe("CallStarts", () => {
  it("rings the first `limit` calls of a period first, asks first beyond them, and rings first again as old calls leave the period", () => {
    const starts = new CallStarts(3, MINUTE);
    expect([0, 1_000, 2_000, 3_000].map((at) => starts.admit("alice", at))).toEqual(["ring-first", "ring-first", "ring-first", "ask-first"]);
    // Every call asked about counts, asked-first ones too: at 30 s, five in the last minute.
    expect(starts.admit("alice", 30_000)).toBe("ask-first");
    // At 61 s the first two have left the minute; three remain.
    expect(starts.admit("alice", MINUTE + 1_000)).toBe("ask-first");
    // At 63.5 s the calls of 2 s and 3 s have left it too: two remain (30 s and 61 s).
    expect(starts.admit("alice", MINUTE + 3_500)).toBe("ring-first");
    // Another caller has their own count.
    expect(starts.admit("bob", 3_000)).toBe("ring-first");
  });

  it("keeps only the newest `limit` starts of a caller, however often they call, and decides the same", () => {
    const starts = new CallStarts(3, MINUTE);
    for (let at = 0; at < 1_000; at++) starts.admit("mallory", at);
    const kept = (starts as unknown as { callers: Map<string, { starts: number[] }> }).callers.get("mallory")!.starts;
    expect(kept).toEqual([997, 998, 999]);
    expect(starts.admit("mallory", MINUTE + 996)).toBe("ask-first");
    expect(starts.admit("mallory", MINUTE + 1_000)).toBe("ring-first");
  });

  it("asks first for a period after a refusal, however few calls this isolate saw", () => {
    const starts = new CallStarts(10, MINUTE);
    expect(starts.admit("carol", 0)).toBe("ring-first");
    starts.refused("carol", 0);
    expect(starts.admit("carol", 1_000)).toBe("ask-first");
    expect(starts.admit("carol", MINUTE - 1)).toBe("ask-first");
    expect(starts.admit("carol", MINUTE)).toBe("ring-first");
  });

  it("remembers at most `maxCallers`, forgetting the least recently seen", () => {
    const starts = new CallStarts(1, MINUTE, 2);
    starts.admit("a", 0);
    starts.admit("b", 0);
    // Seeing a again makes b the least recent; c's arrival forgets b.
    expect(starts.admit("a", 1)).toBe("ask-first");
    starts.admit("c", 2);
    expect(starts.admit("b", 3)).toBe("ring-first");
    // b's arrival forgot a (c and b were seen since).
    expect(starts.admit("c", 4)).toBe("ask-first");
    expect(starts.admit("a", 5)).toBe("ring-first");
  });
});
