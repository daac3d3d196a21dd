import { z } from "@hono/zod-openapi";
import { readCounters } from "../metrics/recorder";
import { MINUTE_MS, minuteOf, parseLabels, quantile } from "../metrics/rollup";
import type { CounterSum, RollupAnswer, SeriesPoint } from "../metrics/rollup-store";
import { TurnFleetSchema, turnFleet } from "./turn-fleet";

/**
 * `GET /v1/admin/stats`: the rollup's counters (metrics/) as an operator reads them, for the last
 * hour and the last 24 hours, plus the series the status page charts. Pure from the counters on;
 * {@link readStats} is the one read.
 */

const Count = z.number().int().nonnegative();
const Rate = z.number().min(0).max(1).nullable().openapi({ description: "A share between 0 and 1; null without samples" });
const Tally = z.object({ verdicts: Count, connected: Count, successRate: Rate });

const WindowSchema = z
  .object({
    minutes: z.number().int(),
    calls: z.object({
      placed: Count,
      answered: Count,
      missed: Count,
      ended: z.record(z.string(), Count).openapi({ description: "Ended calls by reason" }),
      answeredSeconds: Count.openapi({ description: "Talk time of the answered calls that ended" }),
    }),
    ice: Tally.extend({
      failed: Count.openapi({ description: "Reached `failed` without ever connecting" }),
      neverConnected: Count.openapi({ description: "Answered, then ended before connecting or failing" }),
      reports: z.record(z.string(), Count).openapi({ description: "Client reports by trigger (connected, failed, hangup)" }),
      paths: z.record(z.string(), z.object({ count: Count, share: Rate })).openapi({
        description: "Where connected media went: direct, turn-udp, turn-tcp, turn-tls, or turn-peer (only the other side relayed)",
      }),
      byRegion: z.record(z.string(), Tally.extend({ paths: z.record(z.string(), Count) })),
      byCandidateType: z.record(z.string(), Tally).openapi({ description: "Keyed local/remote, e.g. srflx/host" }),
      relayed: z.record(z.string(), z.record(z.string(), Count)).openapi({ description: "Calls whose selected candidate was a relay, by the TURN pool's region, then path" }),
      timeToConnectedMs: z.object({ samples: Count, p50: z.number().nullable(), p95: z.number().nullable() }),
    }),
    push: z.object({
      sent: Count,
      delivered: Count,
      retried: Count,
      deadTokensRemoved: Count,
      failed: Count,
      deliveryRate: Rate,
      byProvider: z.record(z.string(), z.object({ sent: Count, delivered: Count, retried: Count, deadTokensRemoved: Count, failed: Count, deliveryRate: Rate })),
      problems: z.array(z.object({ provider: z.string(), result: z.string(), reason: z.string(), count: Count })).openapi({ description: "What did not deliver, most frequent first (at most 20)" }),
    }),
    queue: z.object({ retries: Count, deadLettered: Count }),
    turn: z.object({ credentialsIssued: Count, byRegion: z.record(z.string(), Count) }),
  })
  .openapi("StatsWindow");
export type StatsWindow = z.output<typeof WindowSchema>;

/** The counters charted, by the name the series gives them. */
const CHARTED = {
  callsPlaced: "calls_placed",
  callsAnswered: "calls_answered",
  callsMissed: "calls_missed",
  iceConnected: "ice_connected",
  iceFailed: "ice_failed",
  pushDelivered: "push_delivered",
  pushFailed: "push_failed",
} as const;
type Charted = keyof typeof CHARTED;

const SeriesSchema = z.object({
  stepMinutes: z.number().int(),
  points: z.array(z.object({ at: z.string(), ...(Object.fromEntries(Object.keys(CHARTED).map((key) => [key, Count])) as Record<Charted, typeof Count>) })),
});

export const StatsSchema = z
  .object({
    generatedAt: z.string(),
    lastHour: WindowSchema,
    last24h: WindowSchema,
    series: z.object({ hour: SeriesSchema, day: SeriesSchema }).openapi({ description: "Per minute over the last hour; per 30 minutes over the last day" }),
    turnFleet: TurnFleetSchema,
  })
  .openapi("Stats");
export type Stats = z.output<typeof StatsSchema>;

const HOUR = { minutes: 60, stepMinutes: 1 };
const DAY = { minutes: 24 * 60, stepMinutes: 30 };

const CHARTED_NAMES = Object.values(CHARTED);

/**
 * The 24 hours before the current minute, read once per minute per isolate: those minutes are
 * complete, and they are most of what a stats read scans (a status page asks every 5 s).
 */
const completedDays = new WeakMap<object, { until: number; answer: Promise<RollupAnswer> }>();

function completedDay(env: Env, until: number): Promise<RollupAnswer> {
  const cached = completedDays.get(env.METRICS_ROLLUP);
  if (cached?.until === until) return cached.answer;
  const answer = readCounters(env, { until: until - 1, windows: [DAY.minutes - 1], series: [{ ...DAY, names: CHARTED_NAMES }] });
  completedDays.set(env.METRICS_ROLLUP, { until, answer });
  // A failed read is not kept: the next request tries again.
  answer.catch(() => {
    if (completedDays.get(env.METRICS_ROLLUP)?.answer === answer) completedDays.delete(env.METRICS_ROLLUP);
  });
  return answer;
}

/** The stats as of `now`: the last hour read fresh from every rollup shard, the day before it as above. */
export async function readStats(env: Env, now = Date.now()): Promise<Stats> {
  const until = minuteOf(now);
  const [fresh, day, fleet] = await Promise.all([
    readCounters(env, { until, windows: [HOUR.minutes, 1], series: [{ ...HOUR, names: CHARTED_NAMES }] }),
    completedDay(env, until),
    turnFleet(env),
  ]);
  return {
    generatedAt: new Date(now).toISOString(),
    lastHour: windowStats(HOUR.minutes, fresh.windows[0] ?? []),
    last24h: windowStats(DAY.minutes, [...(day.windows[0] ?? []), ...(fresh.windows[1] ?? [])]),
    series: { hour: series(until, HOUR, fresh.series[0] ?? []), day: series(until - 1, DAY, day.series[0] ?? []) },
    turnFleet: fleet,
  };
}

/** One window's figures from its counter sums. */
export function windowStats(minutes: number, rows: readonly CounterSum[]): StatsWindow {
  const summed = new Map<string, CounterSum>();
  for (const row of rows) {
    const key = `${row.name}\u0000${row.labels}`;
    summed.set(key, { ...row, value: (summed.get(key)?.value ?? 0) + row.value });
  }
  const parsed = [...summed.values()].map((row) => ({ ...row, labels: parseLabels(row.labels) }));
  const of = (name: string) => parsed.filter((row) => row.name === name);
  const total = (name: string) => of(name).reduce((sum, row) => sum + row.value, 0);
  const by = (name: string, key: (labels: Record<string, string>) => string) => {
    const sums: Record<string, number> = {};
    for (const row of of(name)) sums[key(row.labels)] = (sums[key(row.labels)] ?? 0) + row.value;
    return sums;
  };

  const verdicts = of("ice_verdicts");
  const tally = (rows: typeof verdicts) => {
    const all = rows.reduce((sum, row) => sum + row.value, 0);
    const connected = rows.filter((row) => row.labels.outcome === "connected").reduce((sum, row) => sum + row.value, 0);
    return { verdicts: all, connected, successRate: share(connected, all) };
  };
  const outcome = (value: string) => verdicts.filter((row) => row.labels.outcome === value).reduce((sum, row) => sum + row.value, 0);
  const connectedPaths = by("ice_verdicts", (labels) => (labels.outcome === "connected" ? (labels.path ?? "unknown") : ""));
  delete connectedPaths[""];
  const connectedTotal = Object.values(connectedPaths).reduce((sum, n) => sum + n, 0);
  const regions = [...new Set(verdicts.map((row) => row.labels.region ?? "unknown"))];
  const candidates = of("ice_candidates");
  const pairs = [...new Set(candidates.map((row) => `${row.labels.local}/${row.labels.remote}`))];
  const buckets = by("time_to_connected_ms", (labels) => labels.le ?? "+Inf");
  const samples = Object.values(buckets).reduce((sum, n) => sum + n, 0);

  const outcomes = of("push_outcomes");
  const pushOf = (rows: typeof outcomes) => {
    const count = (result: string) => rows.filter((row) => row.labels.result === result).reduce((sum, row) => sum + row.value, 0);
    const sent = rows.reduce((sum, row) => sum + row.value, 0);
    const delivered = count("delivered");
    return { sent, delivered, retried: count("retried"), deadTokensRemoved: count("dead-token-removed"), failed: count("failed"), deliveryRate: share(delivered, sent) };
  };
  const providers = [...new Set(outcomes.map((row) => row.labels.provider ?? "unknown"))];

  return {
    minutes,
    calls: {
      placed: total("calls_placed"),
      answered: total("calls_answered"),
      missed: total("calls_missed"),
      ended: by("calls_ended", (labels) => labels.reason ?? "unknown"),
      answeredSeconds: total("call_seconds"),
    },
    ice: {
      ...tally(verdicts),
      failed: outcome("failed"),
      neverConnected: outcome("never-connected"),
      reports: by("call_reports", (labels) => labels.trigger ?? "unknown"),
      paths: Object.fromEntries(Object.entries(connectedPaths).map(([path, count]) => [path, { count, share: share(count, connectedTotal) }])),
      byRegion: Object.fromEntries(
        regions.map((region) => {
          const mine = verdicts.filter((row) => (row.labels.region ?? "unknown") === region);
          const paths: Record<string, number> = {};
          for (const row of mine) if (row.labels.outcome === "connected") paths[row.labels.path ?? "unknown"] = (paths[row.labels.path ?? "unknown"] ?? 0) + row.value;
          return [region, { ...tally(mine), paths }];
        }),
      ),
      byCandidateType: Object.fromEntries(pairs.map((pair) => [pair, tally(candidates.filter((row) => `${row.labels.local}/${row.labels.remote}` === pair))])),
      relayed: nested(of("ice_relayed"), "relay", "path"),
      timeToConnectedMs: { samples, p50: quantile(buckets, 0.5) ?? null, p95: quantile(buckets, 0.95) ?? null },
    },
    push: {
      ...pushOf(outcomes),
      byProvider: Object.fromEntries(providers.map((provider) => [provider, pushOf(outcomes.filter((row) => (row.labels.provider ?? "unknown") === provider))])),
      problems: of("push_problems")
        .map((row) => ({ provider: row.labels.provider ?? "unknown", result: row.labels.result ?? "unknown", reason: row.labels.reason ?? "unknown", count: row.value }))
        .sort((a, b) => b.count - a.count)
        .slice(0, 20),
    },
    queue: { retries: total("queue_retries"), deadLettered: total("queue_dead_letters") },
    turn: { credentialsIssued: total("turn_credentials"), byRegion: by("turn_credentials", (labels) => labels.region ?? "unknown") },
  };
}

/** Every step of the series, zeros included, oldest first. */
function series(until: number, { minutes, stepMinutes }: { minutes: number; stepMinutes: number }, points: readonly SeriesPoint[]) {
  const first = until - minutes + 1;
  const slots = Array.from({ length: Math.ceil(minutes / stepMinutes) }, (_, index) => first + index * stepMinutes);
  return {
    stepMinutes,
    points: slots.map((slot) => ({
      at: new Date(slot * MINUTE_MS).toISOString(),
      ...(Object.fromEntries(
        Object.entries(CHARTED).map(([key, name]) => [key, points.filter((point) => point.slot === slot && point.name === name).reduce((sum, point) => sum + point.value, 0)]),
      ) as Record<Charted, number>),
    })),
  };
}

/** Sums by one label, then another: `{ a: { b: n } }`. */
function nested(rows: readonly { labels: Record<string, string>; value: number }[], outer: string, inner: string): Record<string, Record<string, number>> {
  const sums: Record<string, Record<string, number>> = {};
  for (const row of rows) {
    const [a, b] = [row.labels[outer] ?? "unknown", row.labels[inner] ?? "unknown"];
    const bucket = (sums[a] ??= {});
    bucket[b] = (bucket[b] ?? 0) + row.value;
  }
  return sums;
}

const share = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000);
