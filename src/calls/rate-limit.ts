/** What to do with one frame: relay it, drop it, drop it and warn the sender, or close the sender. */
export type RateVerdict = "pass" | "drop" | "warn" | "kick";

interface Bucket {
  tokens: number;
  updatedAt: number;
  drops: number;
  lastDropAt: number;
}

/**
 * A token bucket per connection: `rate` frames/s, and a burst of at most `rate` frames at once
 * (an offer and its trickled candidates are a few dozen), so no second ever carries more than
 * the contract's limit. Dropped frames form an episode until a second passes without a drop: the
 * first drop of an episode warns the sender, and more than `rate` drops in one episode close it.
 *
 * In memory only: after hibernation or eviction every bucket starts full again, which costs at
 * most one extra burst.
 */
export class FrameRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** The verdict on one more frame from `connectionId` at `now` (ms), `rate` frames/s allowed. */
  admit(connectionId: string, rate: number, now: number): RateVerdict {
    let bucket = this.buckets.get(connectionId);
    if (!bucket) {
      bucket = { tokens: rate, updatedAt: now, drops: 0, lastDropAt: 0 };
      this.buckets.set(connectionId, bucket);
    }
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return "pass";
    }
    if (now - bucket.lastDropAt > 1000) bucket.drops = 0;
    bucket.drops += 1;
    bucket.lastDropAt = now;
    if (bucket.drops === 1) return "warn";
    return bucket.drops > rate ? "kick" : "drop";
  }

  /** Forgets a connection that has gone. */
  forget(connectionId: string): void {
    this.buckets.delete(connectionId);
  }
}
