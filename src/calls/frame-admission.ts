import type { SignalingConfig } from "./config";
import { OUT_OF_CALL, standingOf, type Call } from "./machine";
import { parseClientFrame, type ClientFrame, type ServerFrame } from "./protocol";

/**
 * Whether a frame from a call socket gets to the room's logic, decided in the order that costs
 * least first: size (close 1009), the sender's rate (warn, drop, then close 1008), text and JSON
 * shape (an `invalid_frame` error), and the sender's standing in the call (a callee out of the
 * call, or a call that has ended, gets an error frame). What passes is a parsed client frame.
 */
export type Admission =
  | { verdict: "admit"; frame: Exclude<ClientFrame, { type: "ping" }>; call: Call }
  /** Answer the sender with this frame, and do nothing else. */
  | { verdict: "reply"; frame: ServerFrame }
  /** Close the sender's socket. */
  | { verdict: "close"; code: 1008 | 1009; reason: string }
  | { verdict: "drop" };

export interface FrameContext {
  /** The sender's user id: limits hold per participant, across reconnects. */
  userId: string;
  limits: Pick<SignalingConfig, "maxFrameBytes" | "maxFramesPerSecond">;
  limiter: FrameRateLimiter;
  /** The call as the room has it (undefined once purged). */
  call: Call | undefined;
  now: number;
}

const encoder = new TextEncoder();

/** Whether a frame is larger than `limit` bytes: binary as is, text in UTF-8. */
export function isLargerThan(message: string | ArrayBuffer, limit: number): boolean {
  if (typeof message !== "string") return message.byteLength > limit;
  // A string of n UTF-16 units is at most 3n bytes of UTF-8: only encode when that may be too many.
  return message.length * 3 > limit && encoder.encode(message).byteLength > limit;
}

/** The verdict on one frame from a call socket. */
export function admitFrame(message: string | ArrayBuffer, context: FrameContext): Admission {
  const { maxFrameBytes, maxFramesPerSecond } = context.limits;
  if (isLargerThan(message, maxFrameBytes)) return { verdict: "close", code: 1009, reason: `frame larger than ${maxFrameBytes} bytes` };
  switch (context.limiter.admit(context.userId, maxFramesPerSecond, context.now)) {
    case "pass":
      break;
    case "warn":
      return reply("rate_limited", `more than ${maxFramesPerSecond} frames per second; frames are being dropped`);
    case "kick":
      return { verdict: "close", code: 1008, reason: "rate limit exceeded" };
    case "drop":
      return { verdict: "drop" };
  }
  if (typeof message !== "string") return reply("invalid_frame", "frames are JSON text; binary frames are not supported");
  const parsed = parseClientFrame(message);
  if (!parsed.ok) return reply("invalid_frame", parsed.message);
  // A ping spelled differently from the auto-response's exact text ends up here: still a pong.
  if (parsed.frame.type === "ping") return { verdict: "reply", frame: { type: "pong" } };
  const { call } = context;
  if (!call || call.state === "ended") return reply("call_ended", "the call has ended");
  const standing = standingOf(call, context.userId);
  if (standing !== "in") return reply("forbidden", OUT_OF_CALL[standing]);
  return { verdict: "admit", frame: parsed.frame, call };
}

const reply = (code: Extract<ServerFrame, { type: "error" }>["code"], message: string): Admission => ({ verdict: "reply", frame: { type: "error", code, message } });

/** What to do with one frame: relay it, drop it, drop it and warn the sender, or close the sender. */
export type RateVerdict = "pass" | "drop" | "warn" | "kick";

interface Bucket {
  tokens: number;
  updatedAt: number;
  drops: number;
  lastDropAt: number;
}

/**
 * A token bucket per key (a participant of a call, a line socket): `rate` frames/s, and a burst
 * of at most `burst` (by default `rate`) frames at once (an offer and its trickled candidates are
 * a few dozen), so no second ever carries more than the contract's limit. Dropped frames form an episode until a
 * second passes without a drop: the first drop of an episode warns the sender, and more than
 * `rate` drops in one episode close it.
 *
 * In memory only: after hibernation or eviction every bucket starts full again, which costs at
 * most one extra burst. Keyed by participant, a reconnect keeps its bucket.
 */
export class FrameRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** The verdict on one more frame from `key` at `now` (ms), `rate` frames/s allowed. */
  admit(key: string, rate: number, now: number, burst = rate): RateVerdict {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: burst, updatedAt: now, drops: 0, lastDropAt: 0 };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate);
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

  /** Forgets a key that has gone for good (a line socket that closed). */
  forget(key: string): void {
    this.buckets.delete(key);
  }
}
