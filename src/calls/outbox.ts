import type { CallNotice } from "./notice";

/** How long a fresh entry may wait for its first send before the alarm tries it. */
export const OUTBOX_GRACE_MS = 5_000;
/** Tries before an entry is given up (with back-off capped at 5 minutes: about 20 minutes in all). */
export const OUTBOX_MAX_ATTEMPTS = 10;
const MAX_BACKOFF_MS = 5 * 60_000;

export interface OutboxEntry {
  seq: number;
  notices: CallNotice[];
  attempts: number;
}

/**
 * Notices a room has decided and its notifier has not yet accepted, in the room's SQLite. The
 * room writes them in the same turn as the call state they come from, so a decision is never
 * stored without its notices; it answers its caller at once, sends them in the background, and
 * its alarm retries whatever is still here at {@link nextDue}. Entries go out in the order they
 * were decided, so a device is never told "call ended" before "incoming call".
 */
export class NoticeOutbox {
  constructor(private readonly sql: SqlStorage) {}

  /** Creates the table; the room runs it before any other method. */
  install(): void {
    this.sql.exec("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, notices TEXT NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL)");
  }

  add(notices: readonly CallNotice[], now: number): void {
    this.sql.exec("INSERT INTO outbox (notices, attempts, due) VALUES (?, 0, ?)", JSON.stringify(notices), now + OUTBOX_GRACE_MS);
  }

  /** The oldest entry, if any. */
  first(): OutboxEntry | undefined {
    const row = this.sql.exec<{ seq: number; notices: string; attempts: number }>("SELECT seq, notices, attempts FROM outbox ORDER BY seq LIMIT 1").toArray()[0];
    return row && { seq: row.seq, notices: JSON.parse(row.notices) as CallNotice[], attempts: row.attempts };
  }

  /** The notifier took this entry. */
  sent(seq: number): void {
    this.sql.exec("DELETE FROM outbox WHERE seq = ?", seq);
  }

  /**
   * The notifier refused this entry: try again after a back-off (1 s, 2 s, 4 s, … ≤ 5 min), or
   * drop it after {@link OUTBOX_MAX_ATTEMPTS}. Returns when it will be retried, if at all.
   */
  failed(entry: OutboxEntry, now: number): number | undefined {
    const attempts = entry.attempts + 1;
    if (attempts >= OUTBOX_MAX_ATTEMPTS) {
      this.sent(entry.seq);
      return undefined;
    }
    const due = now + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempts - 1));
    this.sql.exec("UPDATE outbox SET attempts = ?, due = ? WHERE seq = ?", attempts, due, entry.seq);
    return due;
  }

  /** When the alarm must next run for the outbox, if anything is waiting. */
  nextDue(): number | undefined {
    return this.sql.exec<{ due: number | null }>("SELECT MIN(due) AS due FROM outbox").one().due ?? undefined;
  }
}
