import { DurableObject } from "cloudflare:workers";
import { MINUTE_MS, minuteOf, type Increment } from "./rollup";

/** How long counters are kept: the stats API reads 24 h; the rest is slack for late flushes. */
export const RETENTION_MINUTES = 48 * 60;
/**
 * Distinct rows one shard keeps per minute. Labels are bounded already (events.ts); this caps what
 * a burst of unusual values (provider reasons, regions) could still add: past it, a new row's
 * value goes to its counter's `overflow` row instead.
 */
export const MAX_ROWS_PER_MINUTE = 400;
export const OVERFLOW_LABELS = "overflow=true";
/** Distinct rows of the running totals (for Prometheus counters); the same overflow rule. */
export const MAX_TOTAL_ROWS = 2000;
const PURGE_EVERY_MS = 60 * MINUTE_MS;

/** A counter summed over a span of minutes. */
export type CounterSum = {
  name: string;
  labels: string;
  value: number;
};

/** A counter summed per step: `slot` is the step's first minute. */
export type SeriesPoint = {
  slot: number;
  name: string;
  value: number;
};

/** A series: some counters summed per `stepMinutes` over the last `minutes`. */
export interface SeriesQuery {
  minutes: number;
  stepMinutes: number;
  names: string[];
}

/** What one read asks a shard: sums over windows ending at `until`, series, and the running totals. */
export interface RollupQuery {
  /** The last minute included (usually the current one). */
  until: number;
  /** Each window's length in minutes. */
  windows: number[];
  series: SeriesQuery[];
  totals?: boolean;
}

export interface RollupAnswer {
  windows: CounterSum[][];
  series: SeriesPoint[][];
  /** Every counter since the shard was created (Prometheus counters); only when asked. */
  totals: CounterSum[];
}

/**
 * One shard of the per-minute counters (docs/observability.md, "The rollup"): SQLite rows of
 * (minute, counter, labels) → value. Writers pick a shard at random for each batch, so no shard is
 * a hot spot; readers ask every shard and add the answers up (the sums commute). An alarm deletes
 * rows older than 48 h every hour while the shard holds any.
 */
export class MetricsRollup extends DurableObject<Env> {
  /** Whether this instance has seen the purge alarm set (it is in storage; this saves reading it). */
  private purgeArmed = false;
  /** Rows of `totals`, counted once per instance and kept up to date by {@link add}. */
  private totalRows: number | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS counters (minute INTEGER NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (minute, name, labels)) WITHOUT ROWID",
    );
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS totals (name TEXT NOT NULL, labels TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (name, labels)) WITHOUT ROWID");
  }

  /** Adds a batch of increments (already summed by the writer); too old ones are dropped. */
  async add(batch: Increment[]): Promise<void> {
    const sql = this.ctx.storage.sql;
    const oldest = minuteOf(Date.now()) - RETENTION_MINUTES;
    const rows = new Map<number, number>();
    const rowsIn = (minute: number) => {
      let n = rows.get(minute);
      if (n === undefined) {
        n = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM counters WHERE minute = ?", minute).one().n;
        rows.set(minute, n);
      }
      return n;
    };
    // One synchronous pass: the whole batch is one implicit transaction.
    for (const { minute, name, labels, value } of batch) {
      if (minute < oldest || !Number.isSafeInteger(value) || value <= 0) continue;
      if (sql.exec("UPDATE counters SET value = value + ? WHERE minute = ? AND name = ? AND labels = ?", value, minute, name, labels).rowsWritten > 0) continue;
      const target = rowsIn(minute) < MAX_ROWS_PER_MINUTE ? labels : OVERFLOW_LABELS;
      sql.exec(
        "INSERT INTO counters (minute, name, labels, value) VALUES (?, ?, ?, ?) ON CONFLICT (minute, name, labels) DO UPDATE SET value = value + excluded.value",
        minute,
        name,
        target,
        value,
      );
      // An overflow row is at most one more per counter name: the cap stays a cap.
      if (target === labels) rows.set(minute, rowsIn(minute) + 1);
    }
    for (const { name, labels, value } of batch) {
      if (!Number.isSafeInteger(value) || value <= 0) continue;
      if (sql.exec("UPDATE totals SET value = value + ? WHERE name = ? AND labels = ?", value, name, labels).rowsWritten > 0) continue;
      this.totalRows ??= sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM totals").one().n;
      const target = this.totalRows < MAX_TOTAL_ROWS ? labels : OVERFLOW_LABELS;
      sql.exec("INSERT INTO totals (name, labels, value) VALUES (?, ?, ?) ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value", name, target, value);
      if (target === labels) this.totalRows++;
    }
    if (!this.purgeArmed) {
      if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PURGE_EVERY_MS);
      this.purgeArmed = true;
    }
  }

  /** Sums for each window, the series and the totals, in one round trip. */
  async read(query: RollupQuery): Promise<RollupAnswer> {
    const sql = this.ctx.storage.sql;
    const windows = query.windows.map((minutes) =>
      sql
        .exec<{ name: string; labels: string; value: number }>(
          "SELECT name, labels, SUM(value) AS value FROM counters WHERE minute > ? AND minute <= ? GROUP BY name, labels",
          query.until - minutes,
          query.until,
        )
        .toArray(),
    );
    const series = query.series.map(({ minutes, stepMinutes, names }) => {
      if (names.length === 0) return [];
      const from = query.until - minutes;
      return sql
        .exec<SeriesPoint>(
          `SELECT ((minute - ?) / ?) * ? + ? AS slot, name, SUM(value) AS value FROM counters WHERE minute > ? AND minute <= ? AND name IN (${names.map(() => "?").join(",")}) GROUP BY slot, name`,
          from + 1,
          stepMinutes,
          stepMinutes,
          from + 1,
          from,
          query.until,
          ...names,
        )
        .toArray();
    });
    const totals = query.totals ? sql.exec<CounterSum>("SELECT name, labels, value FROM totals").toArray() : [];
    return { windows, series, totals };
  }

  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM counters WHERE minute < ?", minuteOf(Date.now()) - RETENTION_MINUTES);
    const left = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM counters").one().n;
    this.purgeArmed = left > 0;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + PURGE_EVERY_MS);
  }
}
