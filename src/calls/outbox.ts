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
 * never stored without it; it answers its caller at once, sends in the background, and its alarm
 * retries whatever is still here at {@link nextDue}. Entries go out in the order they were
 * decided, so a device is never told "call ended" before "incoming call".
 */
export class Outbox<T> {
  /** `column` is the payload's column: `notices` in the notice outbox, which predates the others. */
  constructor(
    private readonly sql: SqlStorage,
    private readonly table: "outbox" | "line_outbox",
    private readonly column: "notices" | "payload" = "payload",
  ) {}

  /** Creates the table; the room runs it before any other method. */
  install(): void {
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS ${this.table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, ${this.column} TEXT NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL)`,
    );
  }

  add(payload: T, now: number): void {
    this.sql.exec(`INSERT INTO ${this.table} (${this.column}, attempts, due) VALUES (?, 0, ?)`, JSON.stringify(payload), now + OUTBOX_GRACE_MS);
  }

  /** The oldest entry, if any. */
  first(): OutboxEntry<T> | undefined {
    const row = this.sql
      .exec<{ seq: number; payload: string; attempts: number }>(`SELECT seq, ${this.column} AS payload, attempts FROM ${this.table} ORDER BY seq LIMIT 1`)
      .toArray()[0];
    return row && { seq: row.seq, payload: JSON.parse(row.payload) as T, attempts: row.attempts };
  }

  /** The receiver took this entry. */
  sent(seq: number): void {
    this.sql.exec(`DELETE FROM ${this.table} WHERE seq = ?`, seq);
  }

  /**
   * The receiver refused this entry: try again after a back-off (1 s, 2 s, 4 s, … ≤ 5 min), or
   * drop it after {@link OUTBOX_MAX_ATTEMPTS}. Returns when it will be retried, if at all.
   */
  failed(entry: OutboxEntry<T>, now: number): number | undefined {
    const attempts = entry.attempts + 1;
    if (attempts >= OUTBOX_MAX_ATTEMPTS) {
      this.sent(entry.seq);
      return undefined;
    }
    const due = now + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempts - 1));
    this.sql.exec(`UPDATE ${this.table} SET attempts = ?, due = ? WHERE seq = ?`, attempts, due, entry.seq);
    return due;
  }

  /** When the alarm must next run for the outbox, if anything is waiting. */
  nextDue(): number | undefined {
    return this.sql.exec<{ due: number | null }>(`SELECT MIN(due) AS due FROM ${this.table}`).one().due ?? undefined;
  }
}
