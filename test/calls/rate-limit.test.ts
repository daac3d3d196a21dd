/**
 * The signaling rate limiter on its own, with a hand-driven clock: the burst it lets through, the
 * refill, the one warning per episode of drops, and the close when an episode goes on. The room
 * tests cover how the room acts on each verdict over real sockets.
 */
import { describe, expect, it } from "vitest";
import { FrameRateLimiter, type RateVerdict } from "../../src/calls/rate-limit";

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

  it("keeps one bucket per connection, and forgets a connection", () => {
    const limiter = new FrameRateLimiter();
    verdicts(limiter, 3, 3, 0);
    expect(limiter.admit("c1", 3, 0)).toBe("warn");
    expect(limiter.admit("c2", 3, 0)).toBe("pass");
    limiter.forget("c1");
    expect(limiter.admit("c1", 3, 0)).toBe("pass");
  });
});
