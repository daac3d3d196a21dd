import { waitUntil } from "cloudflare:workers";
import { log } from "../platform/log";
import { dataPoint } from "./analytics";
import type { MetricEvent } from "./events";
import { combine, increments, type Increment } from "./rollup";
import type { CounterSum, RollupAnswer, RollupQuery, SeriesPoint } from "./rollup-store";

/**
 * Records events: one Analytics Engine data point each (written at once; the runtime batches
 * them), and their counter increments for the rollup, buffered per isolate and flushed to one
 * random shard a moment later (docs/observability.md). Never throws and never waits: a caller on
 * the call or push path records and goes on, and a failed flush is logged and dropped.
 */

/** The rollup's shards. Changing it leaves counters in the shards no longer read: keep it. */
export const ROLLUP_SHARDS = 8;
/** How long increments gather before one flush carries them all. */
const FLUSH_DELAY_MS = 200;
/** A buffer this full is flushed at once, so a burst never holds much in memory. */
const FLUSH_AT_INCREMENTS = 2000;

type MetricsEnv = Pick<Env, "METRICS" | "METRICS_ROLLUP">;

// Per rollup namespace (the binding object is the same for every request of an isolate).
const buffers = new WeakMap<object, { increments: Increment[]; flushing: boolean }>();

/**
 * Records `events` (fire-and-forget).
 *
 * @example
 * record(env, { type: "turn-credential", region: "eu", userId });
 */
export function record(env: MetricsEnv, ...events: MetricEvent[]): void {
  try {
    const now = Date.now();
    for (const event of events) writeDataPoint(env, event);
    let buffer = buffers.get(env.METRICS_ROLLUP);
    if (!buffer) {
      buffer = { increments: [], flushing: false };
      buffers.set(env.METRICS_ROLLUP, buffer);
    }
    buffer.increments.push(...events.flatMap((event) => increments(event, now)));
    if (buffer.increments.length >= FLUSH_AT_INCREMENTS) keepAlive(flush(env, buffer));
    else if (!buffer.flushing) {
      buffer.flushing = true;
      keepAlive(delay(FLUSH_DELAY_MS).then(() => flush(env, buffer)));
    }
  } catch (error) {
    log("error", "metrics_record_failed", { message: String(error) });
  }
}

function writeDataPoint(env: MetricsEnv, event: MetricEvent): void {
  try {
    env.METRICS.writeDataPoint(dataPoint(event));
  } catch (error) {
    // Analytics Engine refusing a point must not cost the rollup its counters.
    log("warn", "analytics_write_failed", { type: event.type, message: String(error) });
  }
}

async function flush(env: MetricsEnv, buffer: { increments: Increment[]; flushing: boolean }): Promise<void> {
  buffer.flushing = false;
  const batch = combine(buffer.increments.splice(0));
  if (batch.length === 0) return;
  const shard = Math.floor(Math.random() * ROLLUP_SHARDS);
  try {
    await shardStub(env, shard).add(batch);
  } catch (error) {
    log("error", "metrics_flush_failed", { shard, increments: batch.length, message: String(error) });
  }
}

/** The work outlives the response (or the queue batch, or the room's turn); outside one it just runs. */
function keepAlive(work: Promise<void>): void {
  try {
    waitUntil(work);
  } catch {
    // No invocation to extend (module scope): the promise runs on its own.
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const shardStub = (env: MetricsEnv, shard: number) => env.METRICS_ROLLUP.get(env.METRICS_ROLLUP.idFromName(`shard-${shard}`));

/** Reads every shard and adds their answers up: the counters as if one object held them. */
export async function readCounters(env: MetricsEnv, query: RollupQuery): Promise<RollupAnswer> {
  const answers = await Promise.all(Array.from({ length: ROLLUP_SHARDS }, (_, shard) => shardStub(env, shard).read(query)));
  return {
    windows: query.windows.map((_, index) => sumBy(answers.flatMap((answer) => answer.windows[index] ?? []), (row) => `${row.name}\u0000${row.labels}`)),
    series: query.series.map((_, index) => sumBy(answers.flatMap((answer) => answer.series[index] ?? []), (point) => `${point.slot}\u0000${point.name}`)),
    totals: sumBy(
      answers.flatMap((answer) => answer.totals),
      (row) => `${row.name}\u0000${row.labels}`,
    ),
  };
}

function sumBy<T extends CounterSum | SeriesPoint>(rows: T[], key: (row: T) => string): T[] {
  const sums = new Map<string, T>();
  for (const row of rows) {
    const sum = sums.get(key(row));
    if (sum) sum.value += row.value;
    else sums.set(key(row), { ...row });
  }
  return [...sums.values()];
}
