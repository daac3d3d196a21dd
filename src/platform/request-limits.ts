import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { orAfter } from "./concurrency";
import { ApiError } from "./errors";
import type { AppEnv } from "./http";
import { log } from "./log";

/**
 * HTTP abuse limits, counted by the Workers Rate Limiting binding (`[[ratelimits]]` in
 * wrangler.toml, where the numbers live; these copies only word the 429 and its `retry-after`,
 * and test/meta/request-limits.test.ts, which runs into each limit, keeps the two equal). Counts are per Cloudflare location
 * and approximate, which is what abuse limits need: cheap, never a round trip to storage.
 */
export const RATE_LIMITS = {
  /** `POST /v1/calls`: every call rings people (VoIP pushes, missed-call alerts). */
  calls: { binding: "CALLS_RATE_LIMIT", limit: 10, period: 60, per: "user", what: "calls started" },
  /** `GET /v1/calls/ice-servers`, `GET /v1/turn/credentials`. */
  credentials: { binding: "CREDENTIALS_RATE_LIMIT", limit: 60, period: 60, per: "user", what: "TURN credential requests" },
  /** `PUT` and `DELETE /v1/devices/{deviceId}`. */
  deviceWrites: { binding: "DEVICE_WRITES_RATE_LIMIT", limit: 30, period: 60, per: "user", what: "device changes" },
  /** `POST /v1/calls/{callId}/report`: a client sends at most three per call. */
  reports: { binding: "REPORTS_RATE_LIMIT", limit: 30, period: 60, per: "user", what: "call reports" },
  /** `POST /v1/push/topics/{topic}/subscribe` and `.../unsubscribe`: each writes KV per device and calls FCM. */
  topicWrites: { binding: "TOPIC_WRITES_RATE_LIMIT", limit: 30, period: 60, per: "user", what: "topic membership changes" },
  /** Requests that need no token, and requests whose token was refused, per client IP. */
  anonymous: { binding: "ANONYMOUS_RATE_LIMIT", limit: 60, period: 60, per: "IP address", what: "requests without a valid token" },
} as const satisfies Record<string, { binding: keyof Env; limit: number; period: 10 | 60; per: string; what: string }>;

export type RateLimitName = keyof typeof RATE_LIMITS;

/**
 * How long a limiter may take to answer before the request goes through unlimited. The binding
 * answers from memory in its location (well under a millisecond on Cloudflare, a few on
 * `wrangler dev`); a call's pushes wait for its answer, so a limiter that hangs must not hold a
 * ringing call (or its alarm) with it.
 */
export const LIMITER_TIMEOUT_MS = 3_000;

/**
 * Counts one request against `name` for `key` and throws `429 rate_limited` with `retry-after`
 * when the key is over its limit. A limiter that fails, or does not answer within
 * {@link LIMITER_TIMEOUT_MS}, lets the request through (logged): an outage of the counter must not
 * take calls down with it.
 */
export async function consumeRateLimit(env: Env, name: RateLimitName, key: string): Promise<void> {
  const refusal = await checkRateLimit(env, name, key);
  if (refusal) throw refusal;
}

/** Counts one request against `name` for `key`: the `429 rate_limited` to answer when it is over, else undefined. */
export async function checkRateLimit(env: Env, name: RateLimitName, key: string): Promise<ApiError | undefined> {
  const rule = RATE_LIMITS[name];
  let allowed = true;
  try {
    const answer = await orAfter(env[rule.binding].limit({ key }), LIMITER_TIMEOUT_MS, () => "late" as const);
    if (answer === "late") log("warn", "rate_limiter_unavailable", { limit: name, error: `no answer within ${LIMITER_TIMEOUT_MS} ms` });
    else allowed = answer.success;
  } catch (error) {
    log("warn", "rate_limiter_unavailable", { limit: name, error: error instanceof Error ? error.message : String(error) });
  }
  if (allowed) return undefined;
  return new ApiError("rate_limited", `too many ${rule.what}: at most ${rule.limit} per ${rule.period} seconds per ${rule.per}`, {
    headers: { "retry-after": String(rule.period) },
  });
}

/** Route middleware: counts the request against `name` for the signed-in user. */
export const limitPerUser = (name: RateLimitName) =>
  createMiddleware<AppEnv>(async (c, next) => {
    await consumeRateLimit(c.env, name, c.var.principal.userId);
    await next();
  });

/**
 * The client's IP as Cloudflare reports it, or undefined outside Cloudflare's edge (a request
 * from a service binding, a test): per-IP limits then do not apply. `x-forwarded-for` is never
 * read, since any client can set it.
 */
export const clientIp = (c: Context): string | undefined => c.req.header("cf-connecting-ip") || undefined;

/**
 * The key an IP address is counted under: an IPv4 address as it is, an IPv6 address by its /64
 * (one subscriber's network: a host picks addresses in it freely).
 */
export function ipKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const [head = "", tail] = ip.toLowerCase().split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** Counts a request without a valid token against the client IP's `anonymous` limit. */
export async function limitAnonymous(c: Context<AppEnv>): Promise<void> {
  const ip = clientIp(c);
  if (ip !== undefined) await consumeRateLimit(c.env, "anonymous", ipKey(ip));
}
