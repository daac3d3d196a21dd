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
 * - *pending* (table `pending`, by recipient): for participants who are not connected yet (the
 *   caller's offer and candidates, sent before the callee joins), handed over in order when they
 *   join;
 * - *held* (table `held`, by sender): from a callee who has not answered (its answer and
 *   candidates), relayed in order if it answers and dropped if it does not, so no media flows
 *   before someone picks up.
 * Its tables are created with the first frame kept, not with the call: a call's first write
 * (which the callee's ringing waits for) stays small, and a call nobody signals on never has them.
 */
export class PendingFrames {
  /** Whether the tables exist, once asked (the room's storage is this object's alone). */
  private installed: boolean | undefined;

  constructor(private readonly sql: SqlStorage) {}

  /** Keeps `frame` pending for `recipient`; false (and nothing kept) when their share or the call's is full. */
  addPending(recipient: string, frame: string): boolean {
    this.install();
    const bytes = encoder.encode(frame).byteLength;
    if (!this.hasRoom("pending", "recipient", recipient, bytes)) return false;
    this.sql.exec("INSERT INTO pending (recipient, frame, bytes) VALUES (?, ?, ?)", recipient, frame, bytes);
    return true;
  }

  /** Removes and returns every frame pending for `recipient`, oldest first. */
  takePending(recipient: string): string[] {
    if (!this.exist()) return [];
    const frames = this.sql.exec<{ frame: string }>("SELECT frame FROM pending WHERE recipient = ? ORDER BY seq", recipient).toArray();
    if (frames.length > 0) this.sql.exec("DELETE FROM pending WHERE recipient = ?", recipient);
    return frames.map((row) => row.frame);
  }

  /** Holds a frame from `sender`, who has not answered yet; false when their share or the call's is full. */
  addHeld(sender: string, frame: HeldFrame): boolean {
    this.install();
    const bytes = encoder.encode(frame.text).byteLength;
    if (!this.hasRoom("held", "sender", sender, bytes)) return false;
    this.sql.exec("INSERT INTO held (sender, target, frame, bytes) VALUES (?, ?, ?, ?)", sender, frame.to ?? null, frame.text, bytes);
    return true;
  }

  /** Removes and returns what `sender` sent before answering, oldest first. */
  takeHeld(sender: string): HeldFrame[] {
    if (!this.exist()) return [];
    const rows = this.sql.exec<{ frame: string; target: string | null }>("SELECT frame, target FROM held WHERE sender = ? ORDER BY seq", sender).toArray();
    if (rows.length > 0) this.sql.exec("DELETE FROM held WHERE sender = ?", sender);
    return rows.map((row) => (row.target === null ? { text: row.frame } : { text: row.frame, to: row.target }));
  }

  /** Drops what is pending for `userId` and what they sent before answering: they are out of the call. */
  forget(userId: string): void {
    if (!this.exist()) return;
    this.sql.exec("DELETE FROM pending WHERE recipient = ?", userId);
    this.sql.exec("DELETE FROM held WHERE sender = ?", userId);
  }

  /** Drops everything kept (the call has ended: nobody will read it). */
  clear(): void {
    if (!this.exist()) return;
    this.sql.exec("DELETE FROM pending");
    this.sql.exec("DELETE FROM held");
  }

  /** Whether `bytes` more fit in `who`'s share of `table` (frames pending for them, or held from them) and in the call's. */
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

  private exist(): boolean {
    this.installed ??= this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'held'").one().n > 0;
    return this.installed;
  }

  private install(): void {
    if (this.exist()) return;
    this.sql.exec("CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, frame TEXT NOT NULL, bytes INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS pending_by_recipient ON pending (recipient, seq)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS held (seq INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, target TEXT, frame TEXT NOT NULL, bytes INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS held_by_sender ON held (sender, seq)");
    this.installed = true;
  }
}
