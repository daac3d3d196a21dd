import { label, mediaPath, reasonCode, type MetricEvent } from "./events";

/**
 * The zero-configuration view of the events: per-minute counters. Analytics Engine drops writes
 * in `wrangler dev` and tests, so every event also becomes a few counter increments here, summed
 * per minute by the rollup Durable Object (rollup-store.ts) and read back by the stats API and
 * the status page. Pure: the event in, the increments out.
 *
 * Counters are `name{labels}`; label values are bounded (events.ts `label`), and a time is never
 * a raw sample: time to connected goes into fixed histogram buckets, so a minute's rows stay few
 * whatever the traffic.
 */

/** One counter increment: the minute (since the epoch), the counter, its labels, how much. */
export interface Increment {
  minute: number;
  name: string;
  /** Canonical label text: `key=value` pairs sorted by key, joined by `,` (empty without labels). */
  labels: string;
  value: number;
}

/** Upper bounds (ms) of the time-to-connected histogram's buckets; the last bucket is open. */
export const TIME_TO_CONNECTED_BUCKETS_MS = [250, 500, 750, 1000, 1500, 2000, 3000, 5000, 8000, 13_000, 20_000, 30_000] as const;

export const MINUTE_MS = 60_000;
export const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS);

/** The label text of some labels: sorted, so the same labels are always the same row. */
export function labelText(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(",");
}

/** Labels back from their text. */
export function parseLabels(text: string): Record<string, string> {
  if (text === "") return {};
  return Object.fromEntries(text.split(",").map((pair) => pair.split("=", 2) as [string, string]));
}

/** The bucket label (`le`) of a time to connected. */
export function bucketOf(ms: number): string {
  const bound = TIME_TO_CONNECTED_BUCKETS_MS.find((upper) => ms <= upper);
  return bound === undefined ? "+Inf" : String(bound);
}

/**
 * The counter increments of one event at `now` (its own `at` when it has one).
 *
 * ICE verdicts come from the hang-up report (its outcome is the call's last word on this client),
 * so each participant of each call counts once; time to connected from the first-connected report.
 *
 * @example
 * increments({ type: "turn-credential", region: "eu", userId: "alice" }, now);
 * // [{ minute, name: "turn_credentials", labels: "region=eu", value: 1 }]
 */
export function increments(event: MetricEvent, now: number): Increment[] {
  const minute = minuteOf(event.at ?? now);
  const count: Count = (name, labels = {}, value = 1) => ({ minute, name, labels: labelText(labels), value });
  switch (event.type) {
    case "call":
      return callIncrements(event, count);
    case "call-report": {
      const region = label(event.region);
      const reports = [count("call_reports", { trigger: event.trigger })];
      if (event.trigger === "connected" && event.timeToConnectedMs !== undefined) {
        return [...reports, count("time_to_connected_ms", { le: bucketOf(event.timeToConnectedMs) }), count("time_to_connected_ms_sum", {}, event.timeToConnectedMs)];
      }
      if (event.trigger !== "hangup") return reports;
      const verdict = { outcome: event.outcome };
      return [
        ...reports,
        count(event.outcome === "connected" ? "ice_connected" : "ice_failed"),
        count("ice_verdicts", { ...verdict, region, path: mediaPath(event) }),
        count("ice_candidates", { ...verdict, local: label(event.localCandidateType), remote: label(event.remoteCandidateType) }),
        ...(event.relayRegion === undefined ? [] : [count("ice_relayed", { relay: label(event.relayRegion), path: mediaPath(event) })]),
      ];
    }
    case "push": {
      const provider = label(event.provider);
      const result = [count("push_outcomes", { provider, kind: label(event.kind), result: event.result })];
      if (event.result === "delivered") return [...result, count("push_delivered")];
      const reason = count("push_problems", { provider, result: event.result, reason: reasonCode(event.reason) });
      return [...result, reason, ...(event.result === "failed" ? [count("push_failed")] : [])];
    }
    case "turn-credential":
      return [count("turn_credentials", { region: label(event.region) })];
    case "queue":
      return [event.action === "retry" ? count("queue_retries", { job: label(event.job) }) : count("queue_dead_letters", { kind: label(event.kind) })];
  }
}

type Count = (name: string, labels?: Record<string, string>, value?: number) => Increment;

function callIncrements(event: Extract<MetricEvent, { type: "call" }>, count: Count): Increment[] {
  switch (event.phase) {
    case "placed":
      return [count("calls_placed")];
    case "answered":
      return [count("calls_answered")];
    case "missed":
      return [count("calls_missed")];
    case "ended":
      return [count("calls_ended", { reason: label(event.reason) }), ...(event.answered ? [count("call_seconds", {}, Math.round(event.durationMs / 1000))] : [])];
  }
}

/** Sums increments of the same minute, counter and labels: what one flush sends. */
export function combine(all: readonly Increment[]): Increment[] {
  const sums = new Map<string, Increment>();
  for (const increment of all) {
    const key = `${increment.minute}\u0000${increment.name}\u0000${increment.labels}`;
    const sum = sums.get(key);
    if (sum) sum.value += increment.value;
    else sums.set(key, { ...increment });
  }
  return [...sums.values()];
}

/**
 * A quantile (0..1) of a histogram given as `le` bucket → count, interpolated within its bucket
 * the way Prometheus' `histogram_quantile` does; undefined without samples. A quantile in the
 * open last bucket is its lower bound (the largest finite one).
 *
 * @example
 * quantile({ "500": 1, "1000": 1 }, 0.5); // 500
 */
export function quantile(buckets: Readonly<Record<string, number>>, q: number): number | undefined {
  const total = Object.values(buckets).reduce((sum, n) => sum + n, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let below = 0;
  let lower = 0;
  for (const upper of TIME_TO_CONNECTED_BUCKETS_MS) {
    const inBucket = buckets[String(upper)] ?? 0;
    if (inBucket > 0 && below + inBucket >= rank) return Math.round(lower + ((upper - lower) * (rank - below)) / inBucket);
    below += inBucket;
    lower = upper;
  }
  return lower;
}
