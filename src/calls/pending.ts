/** At most this many frames, and this many bytes, wait for one participant who is not connected. */
export const PENDING_MAX_FRAMES = 256;
export const PENDING_MAX_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

/**
 * Frames kept in the room's SQLite for participants who are not connected yet (the caller's offer
 * and candidates, sent before the callee joins), handed over in order when they join. Creates
 * its table in {@link install}, which the room runs before any other method.
 */
export class PendingFrames {
  constructor(private readonly sql: SqlStorage) {}

  install(): void {
    this.sql.exec("CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, frame TEXT NOT NULL, bytes INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS pending_by_recipient ON pending (recipient, seq)");
  }

  /** Keeps `frame` for `recipient`; false (and nothing kept) when their share is full. */
  hold(recipient: string, frame: string): boolean {
    const bytes = encoder.encode(frame).byteLength;
    const waiting = this.sql
      .exec<{ frames: number; bytes: number }>("SELECT COUNT(*) AS frames, COALESCE(SUM(bytes), 0) AS bytes FROM pending WHERE recipient = ?", recipient)
      .one();
    if (waiting.frames >= PENDING_MAX_FRAMES || waiting.bytes + bytes > PENDING_MAX_BYTES) return false;
    this.sql.exec("INSERT INTO pending (recipient, frame, bytes) VALUES (?, ?, ?)", recipient, frame, bytes);
    return true;
  }

  /** Removes and returns every frame kept for `recipient`, oldest first. */
  take(recipient: string): string[] {
    const frames = this.sql.exec<{ frame: string }>("SELECT frame FROM pending WHERE recipient = ? ORDER BY seq", recipient).toArray();
    if (frames.length > 0) this.sql.exec("DELETE FROM pending WHERE recipient = ?", recipient);
    return frames.map((row) => row.frame);
  }

  /** Drops everything kept (the call has ended: nobody will read it). */
  clear(): void {
    this.sql.exec("DELETE FROM pending");
  }
}
