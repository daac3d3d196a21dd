/**
 * Frame admission on its own, pure, with a hand-driven clock: the order of the checks (size, rate,
 * text and shape, the sender's standing) and what each answers; and the rate limiter's burst,
 * refill, one warning per episode of drops, and close when an episode goes on. The room tests
 * cover how the room acts on each verdict over real sockets.
 */
import { describe, expect, it } from "vitest";
import { admitFrame, FrameRateLimiter, isLargerThan, type FrameContext, type RateVerdict } from "../../src/calls/frame-admission";
import type { Call } from "../../src/calls/machine";

const call: Call = { callId: "C", caller: "alice", callees: ["bob", "carol"], media: "audio", state: "ringing", createdAt: 0, ringDeadline: 45_000, declined: [] };
const context = (over: Partial<FrameContext> = {}): FrameContext => ({
  userId: "alice",
  limits: { maxFrameBytes: 1024, maxFramesPerSecond: 5 },
  limiter: new FrameRateLimiter(),
  call,
  now: 1_000,
  ...over,
});

describe("admitFrame", () => {
  it("admits a well-formed frame from someone in the call, with the call", () => {
    expect(admitFrame('{"type":"offer","sdp":"v=0"}', context())).toEqual({ verdict: "admit", frame: { type: "offer", sdp: "v=0" }, call });
  });

  it("measures the size in UTF-8 bytes before anything else: a frame over the limit closes with 1009", () => {
    const euros = `{"type":"message","data":"${"€".repeat(400)}"}`; // 415 UTF-16 units, 1,227 bytes
    expect(euros.length).toBeLessThan(1024);
    expect(isLargerThan(euros, 1024)).toBe(true);
    expect(admitFrame(euros, context())).toEqual({ verdict: "close", code: 1009, reason: "frame larger than 1024 bytes" });
    expect(admitFrame(new ArrayBuffer(2048), context())).toMatchObject({ verdict: "close", code: 1009 });
  });

  it("counts every frame against the sender's rate, pings and bad frames included", () => {
    const shared = context();
    const verdicts = ['{"type":"ping"}', "not json", '{"type":"nope"}', "{}", '{"type":"hangup"}', '{"type":"ping"}', '{"type":"ping"}'].map((text) => admitFrame(text, shared).verdict);
    expect(verdicts).toEqual(["reply", "reply", "reply", "reply", "admit", "reply", "drop"]);
    expect(admitFrame('{"type":"ping"}', { ...shared, now: 1_000 })).toEqual({ verdict: "drop" });
  });

  it.each([
    ["binary", new Uint8Array([1, 2]).buffer, "invalid_frame", "binary frames are not supported"],
    ["not JSON", "{", "invalid_frame", "not valid JSON"],
    ["an unknown type", '{"type":"shout"}', "invalid_frame", 'unknown frame type "shout"'],
    ["a frame nested too deep", `${"[".repeat(40)}${"]".repeat(40)}`, "invalid_frame", "deeper than 32"],
  ])("answers %s with an error frame", (_name, message, code, text) => {
    const admission = admitFrame(message, context());
    expect(admission).toMatchObject({ verdict: "reply", frame: { type: "error", code } });
    expect(admission.verdict === "reply" && admission.frame.type === "error" && admission.frame.message).toContain(text);
  });

  it("answers a ping spelled otherwise than the auto-response with a pong, even once the call is over", () => {
    expect(admitFrame('{ "type": "ping" }', context({ call: undefined }))).toEqual({ verdict: "reply", frame: { type: "pong" } });
  });

  it("refuses frames once the call has ended, and from callees out of the call", () => {
    expect(admitFrame('{"type":"hangup"}', context({ call: { ...call, state: "ended", endReason: "hangup" } }))).toMatchObject({ verdict: "reply", frame: { code: "call_ended" } });
    expect(admitFrame('{"type":"hangup"}', context({ call: undefined }))).toMatchObject({ verdict: "reply", frame: { code: "call_ended" } });
    expect(admitFrame('{"type":"accept"}', context({ userId: "bob", call: { ...call, declined: ["bob"] } }))).toMatchObject({
      verdict: "reply",
      frame: { code: "forbidden", message: "you declined this call" },
    });
    expect(admitFrame('{"type":"answer","sdp":"v=0"}', context({ userId: "carol", call: { ...call, state: "active", answeredBy: "bob" } }))).toMatchObject({
      verdict: "reply",
      frame: { code: "forbidden", message: "another callee answered this call" },
    });
  });
});

const verdicts = (limiter: FrameRateLimiter, count: number, rate: number, at: number) =>
  Array.from({ length: count }, (): RateVerdict => limiter.admit("c1", rate, at));

describe("FrameRateLimiter", () => {
  it("lets a burst of `rate` frames through, then warns once and drops", () => {
    const limiter = new FrameRateLimiter();
    const seen = verdicts(limiter, 13, 10, 1_000);
    expect(seen.slice(0, 10)).toEqual(Array(10).fill("pass"));
    expect(seen.slice(10)).toEqual(["warn", "drop", "drop"]);
  });

  it("refills at `rate` per second", () => {
    const limiter = new FrameRateLimiter();
    verdicts(limiter, 10, 10, 1_000);
    expect(limiter.admit("c1", 10, 1_050)).toBe("warn");
    // 200 ms later two tokens have come back.
    expect(verdicts(limiter, 3, 10, 1_250)).toEqual(["pass", "pass", "drop"]);
  });

  it("closes a sender whose drops in one episode exceed the rate, and starts a new episode after a quiet second", () => {
    const limiter = new FrameRateLimiter();
    verdicts(limiter, 5, 5, 0);
    expect(verdicts(limiter, 6, 5, 0)).toEqual(["warn", "drop", "drop", "drop", "drop", "kick"]);
    // More than a second without a drop, and a new burst: the episode count starts again.
    expect(verdicts(limiter, 6, 5, 1_500)).toEqual(["pass", "pass", "pass", "pass", "pass", "warn"]);
  });

  it("lets a burst larger than the rate through when asked, refilling at the rate", () => {
    const limiter = new FrameRateLimiter();
    expect(Array.from({ length: 6 }, () => limiter.admit("u", 0.5, 0, 5))).toEqual(["pass", "pass", "pass", "pass", "pass", "warn"]);
    expect(limiter.admit("u", 0.5, 1_000, 5)).toBe("kick");
    expect(limiter.admit("u", 0.5, 3_100, 5)).toBe("pass");
  });

  it("keeps one bucket per key, and forgets a key", () => {
    const limiter = new FrameRateLimiter();
    verdicts(limiter, 3, 3, 0);
    expect(limiter.admit("c1", 3, 0)).toBe("warn");
    expect(limiter.admit("c2", 3, 0)).toBe("pass");
    limiter.forget("c1");
    expect(limiter.admit("c1", 3, 0)).toBe("pass");
  });
});
