import { log } from "../platform/log";

/** How long a fresh entry may wait for its first send before the alarm tries it. */
export const OUTBOX_GRACE_MS = 5_000;
/** Tries before an entry is given up (with back-off capped at 5 minutes: about 20 minutes in all). */
export const OUTBOX_MAX_ATTEMPTS = 10;
const MAX_BACKOFF_MS = 5 * 60_000;

export interface OutboxEntry<T> {
  seq: number;
  payload: T;
  attempts: number;
}

/**
 * What a room has decided and someone else has not yet accepted, in the room's SQLite: notices
 * for the notifier (table `outbox`), call snapshots for the participants' lines (`line_outbox`).
 * The room writes an entry in the same turn as the call state it comes from, so a decision is
 * never stored without it; it answers its caller at once and {@link flush}es in the background,
 * and its alarm retries whatever is still here at {@link nextDue}. Entries go out in the order
 * they were decided, so a device is never told "call ended" before "incoming call".
 */
export class Outbox<T> {
  /** The flush in progress: flushes never overlap, so entries keep their order. */
  private flushing: Promise<void> | undefined;
  private discarded = false;

  private readonly column: string;
  private readonly event: string;

  /**
   * `event` names the log lines of refusals (`<event>_failed`, `<event>_abandoned`); `column` is the
   * payload's column: `notices` in the notice outbox, which predates the others.
   */
  constructor(
    private readonly sql: SqlStorage,
    private readonly table: "outbox" | "line_outbox",
    options: { event: string; column?: "notices" | "payload" },
  ) {
    this.column = options.column ?? "payload";
    this.event = options.event;
  }

  /** Creates the table; the room runs it before any other method. */
  install(): void {
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS ${this.table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, ${this.column} TEXT NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL)`,
    );
  }

  add(payload: T, now: number): void {
    this.sql.exec(`INSERT INTO ${this.table} (${this.column}, attempts, due) VALUES (?, 0, ?)`, JSON.stringify(payload), now + OUTBOX_GRACE_MS);
  }

  /**
   * Hands the entries to `deliver`, oldest first, each removed once `deliver` resolves. A refusal
   * stops there (later entries must not overtake it): the entry waits for its back-off, and
   * `onRefused` hears when to try again (to arm the alarm) or that it was given up. A flush
   * already in progress is joined, not doubled.
   */
  flush(deliver: (payload: T) => Promise<void>, onRefused: (retryAt: number | undefined) => void | Promise<void>, context: Record<string, unknown>): Promise<void> {
    this.flushing ??= this.drain(deliver, onRefused, context).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** The room's storage is being deleted (the call was purged): nothing more is read or sent. */
  discard(): void {
    this.discarded = true;
  }

  /** When the alarm must next run for the outbox, if anything is waiting. */
  nextDue(): number | undefined {
    return this.sql.exec<{ due: number | null }>(`SELECT MIN(due) AS due FROM ${this.table}`).one().due ?? undefined;
  }

  private async drain(deliver: (payload: T) => Promise<void>, onRefused: (retryAt: number | undefined) => void | Promise<void>, context: Record<string, unknown>): Promise<void> {
    for (let entry = this.first(); entry; entry = this.first()) {
      try {
        await deliver(entry.payload);
      } catch (error) {
        if (this.discarded) return;
        const retryAt = this.failed(entry, Date.now());
        log("error", retryAt === undefined ? `${this.event}_abandoned` : `${this.event}_failed`, { ...context, attempts: entry.attempts + 1, message: String(error) });
        await onRefused(retryAt);
        return;
      }
      if (this.discarded) return;
      this.sql.exec(`DELETE FROM ${this.table} WHERE seq = ?`, entry.seq);
    }
  }

  /** The oldest entry, if any (none once discarded). */
  private first(): OutboxEntry<T> | undefined {
    if (this.discarded) return undefined;
    const row = this.sql
      .exec<{ seq: number; payload: string; attempts: number }>(`SELECT seq, ${this.column} AS payload, attempts FROM ${this.table} ORDER BY seq LIMIT 1`)
      .toArray()[0];
    return row && { seq: row.seq, payload: JSON.parse(row.payload) as T, attempts: row.attempts };
  }

  /**
   * The receiver refused this entry: try again after a back-off (1 s, 2 s, 4 s, … ≤ 5 min), or
   * drop it after {@link OUTBOX_MAX_ATTEMPTS}. Returns when it will be retried, if at all.
   */
  private failed(entry: OutboxEntry<T>, now: number): number | undefined {
    const attempts = entry.attempts + 1;
    if (attempts >= OUTBOX_MAX_ATTEMPTS) {
      this.sql.exec(`DELETE FROM ${this.table} WHERE seq = ?`, entry.seq);
      return undefined;
    }
    const due = now + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempts - 1));
    this.sql.exec(`UPDATE ${this.table} SET attempts = ?, due = ? WHERE seq = ?`, attempts, due, entry.seq);
    return due;
  }
}
