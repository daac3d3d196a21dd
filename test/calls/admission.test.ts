/**
 * How the Worker chooses each new call's admission (src/calls/admission.ts): rung while the
 * limiter is asked only while this isolate's own count shows room and the caller was not refused
 * lately, asked first otherwise. Pure; the room's side (withdrawing a refused call) is in
 * test/meta/request-limits.test.ts.
 */
import { describe, expect, it } from "vitest";
import { CallStarts } from "../../src/calls/admission";

const MINUTE = 60_000;

/** A call by `caller` at `at`, answered at once (the limiter let it through): its admission. */
const call = (starts: CallStarts, caller: string, at: number) => {
  const admission = starts.admit(caller, at);
  starts.answered(caller, admission, false, at);
  return admission;
};

describe("CallStarts", () => {
  it("rings the first `limit` calls of a period first, asks first beyond them, and rings first again as old calls leave the period", () => {
    const starts = new CallStarts(3, MINUTE);
    expect([0, 1_000, 2_000, 3_000].map((at) => call(starts, "alice", at))).toEqual(["ring-first", "ring-first", "ring-first", "ask-first"]);
    // Every call asked about counts, asked-first ones too: at 30 s, five in the last minute.
    expect(call(starts, "alice", 30_000)).toBe("ask-first");
    // At 61 s the first two have left the minute; three remain.
    expect(call(starts, "alice", MINUTE + 1_000)).toBe("ask-first");
    // At 63.5 s the calls of 2 s and 3 s have left it too: two remain (30 s and 61 s).
    expect(call(starts, "alice", MINUTE + 3_500)).toBe("ring-first");
    // Another caller has their own count.
    expect(call(starts, "bob", 3_000)).toBe("ring-first");
  });

  it("keeps only the newest `limit` starts of a caller, however often they call, and decides the same", () => {
    const starts = new CallStarts(3, MINUTE);
    for (let at = 0; at < 1_000; at++) call(starts, "mallory", at);
    const kept = (starts as unknown as { callers: Map<string, { starts: number[] }> }).callers.get("mallory")!.starts;
    expect(kept).toEqual([997, 998, 999]);
    expect(call(starts, "mallory", MINUTE + 996)).toBe("ask-first");
    expect(call(starts, "mallory", MINUTE + 1_000)).toBe("ring-first");
  });

  it("asks first for a period after a refusal, however few calls this isolate saw", () => {
    const starts = new CallStarts(10, MINUTE);
    expect(starts.admit("carol", 0)).toBe("ring-first");
    starts.answered("carol", "ring-first", true, 0);
    expect(starts.admit("carol", 1_000)).toBe("ask-first");
    expect(starts.admit("carol", MINUTE - 1)).toBe("ask-first");
    expect(starts.admit("carol", MINUTE)).toBe("ring-first");
  });

  it("rings one call of a caller at a time first: calls started while one waits for the limiter are asked first", () => {
    const starts = new CallStarts(10, MINUTE);
    // Ten calls at once from a caller this isolate never saw (at the limit elsewhere, say).
    const admissions = Array.from({ length: 10 }, (_, n) => starts.admit("dave", n));
    expect(admissions).toEqual(["ring-first", ...Array(9).fill("ask-first")]);
    // The asked-first ones come back; the one rung first still waits.
    for (let n = 1; n < 10; n++) starts.answered("dave", "ask-first", false, 20);
    expect(starts.admit("dave", 30)).toBe("ask-first");
    starts.answered("dave", "ring-first", false, 40);
    // A caller with room rings first again once their call rung first has its answer.
    expect(starts.admit("erin", 50)).toBe("ring-first");
    expect(starts.admit("erin", 55)).toBe("ask-first");
    starts.answered("erin", "ring-first", false, 60);
    expect(starts.admit("erin", 70)).toBe("ring-first");
  });

  it("remembers at most `maxCallers`, forgetting the least recently seen", () => {
    const starts = new CallStarts(1, MINUTE, 2);
    call(starts, "a", 0);
    call(starts, "b", 0);
    // Seeing a again makes b the least recent; c's arrival forgets b.
    expect(call(starts, "a", 1)).toBe("ask-first");
    call(starts, "c", 2);
    expect(call(starts, "b", 3)).toBe("ring-first");
    // b's arrival forgot a (c and b were seen since).
    expect(call(starts, "c", 4)).toBe("ask-first");
    expect(call(starts, "a", 5)).toBe("ring-first");
  });
});
