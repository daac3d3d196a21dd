/** At most this many frames, and this many bytes, wait for one participant who is not connected. */
export const PENDING_MAX_FRAMES = 256;
export const PENDING_MAX_BYTES = 1024 * 1024;
/** And at most this many bytes wait in one call, for everyone and from everyone together. */
export const PENDING_MAX_CALL_BYTES = 4 * 1024 * 1024;

const encoder = new TextEncoder();

/** A frame a callee sent before answering: the relayed text, and the connection it was sent `to`. */
export interface HeldFrame {
  text: string;
  to?: string;
}

/**
 * Frames the room keeps in its SQLite, both capped per participant and per call:
 * - *waiting* for participants who are not connected yet (the caller's offer and candidates,
 *   sent before the callee joins), handed over in order when they join;
 * - *held* from a callee who has not answered (its answer and candidates), relayed in order if
 *   it answers and dropped if it does not, so no media flows before someone picks up.
 * Creates its tables in {@link install}, which the room runs before any other method.
 */
export class PendingFrames {
  constructor(private readonly sql: SqlStorage) {}

  install(): void {
    this.sql.exec("CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, frame TEXT NOT NULL, bytes INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS pending_by_recipient ON pending (recipient, seq)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS held (seq INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, target TEXT, frame TEXT NOT NULL, bytes INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS held_by_sender ON held (sender, seq)");
  }

  /** Keeps `frame` for `recipient`; false (and nothing kept) when their share or the call's is full. */
  hold(recipient: string, frame: string): boolean {
    const bytes = encoder.encode(frame).byteLength;
    if (!this.hasRoom("pending", "recipient", recipient, bytes)) return false;
    this.sql.exec("INSERT INTO pending (recipient, frame, bytes) VALUES (?, ?, ?)", recipient, frame, bytes);
    return true;
  }

  /** Removes and returns every frame kept for `recipient`, oldest first. */
  take(recipient: string): string[] {
    const frames = this.sql.exec<{ frame: string }>("SELECT frame FROM pending WHERE recipient = ? ORDER BY seq", recipient).toArray();
    if (frames.length > 0) this.sql.exec("DELETE FROM pending WHERE recipient = ?", recipient);
    return frames.map((row) => row.frame);
  }

  /** Holds a frame from `sender`, who has not answered yet; false when their share or the call's is full. */
  holdFrom(sender: string, frame: HeldFrame): boolean {
    const bytes = encoder.encode(frame.text).byteLength;
    if (!this.hasRoom("held", "sender", sender, bytes)) return false;
    this.sql.exec("INSERT INTO held (sender, target, frame, bytes) VALUES (?, ?, ?, ?)", sender, frame.to ?? null, frame.text, bytes);
    return true;
  }

  /** Removes and returns what `sender` sent before answering, oldest first. */
  takeFrom(sender: string): HeldFrame[] {
    const rows = this.sql.exec<{ frame: string; target: string | null }>("SELECT frame, target FROM held WHERE sender = ? ORDER BY seq", sender).toArray();
    if (rows.length > 0) this.sql.exec("DELETE FROM held WHERE sender = ?", sender);
    return rows.map((row) => (row.target === null ? { text: row.frame } : { text: row.frame, to: row.target }));
  }

  /** Drops what waits for `userId` and what they sent before answering: they are out of the call. */
  forget(userId: string): void {
    this.sql.exec("DELETE FROM pending WHERE recipient = ?", userId);
    this.sql.exec("DELETE FROM held WHERE sender = ?", userId);
  }

  /** Drops everything kept (the call has ended: nobody will read it). */
  clear(): void {
    this.sql.exec("DELETE FROM pending");
    this.sql.exec("DELETE FROM held");
  }

  /** Whether `bytes` more fit in `who`'s share of `table` (frames kept for them, or held from them) and in the call's. */
  private hasRoom(table: "pending" | "held", person: "recipient" | "sender", who: string, bytes: number): boolean {
    const share = this.sql
      .exec<{ frames: number; bytes: number }>(`SELECT COUNT(*) AS frames, COALESCE(SUM(bytes), 0) AS bytes FROM ${table} WHERE ${person} = ?`, who)
      .one();
    if (share.frames >= PENDING_MAX_FRAMES || share.bytes + bytes > PENDING_MAX_BYTES) return false;
    const total = this.sql
      .exec<{ bytes: number }>("SELECT (SELECT COALESCE(SUM(bytes), 0) FROM pending) + (SELECT COALESCE(SUM(bytes), 0) FROM held) AS bytes")
      .one().bytes;
    return total + bytes <= PENDING_MAX_CALL_BYTES;
  }
}
