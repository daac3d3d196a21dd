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
  /** When the alarm must try it (a fresh entry: after {@link OUTBOX_GRACE_MS}). */
  due: number;
}

export type OutboxName = "notices" | "lines";

/**
 * What a room has decided and someone else has not yet accepted, in the room's key-value storage
 * (`ctx.storage.kv`: the table every SQLite-backed object starts with, so a new call writes no
 * schema on its way to ringing anyone), one entry per key `outbox/<name>/<seq>`: notices for the
 * notifier (`notices`), call snapshots for the participants' lines (`lines`). The room writes an
 * entry in the same turn as the call state it comes from, so a decision is never stored without
 * it; it answers its caller at once and {@link flush}es in the background, and its alarm retries
 * whatever is still here at {@link nextDue}. Entries go out in the order they were decided, so a
 * device is never told "call ended" before "incoming call".
 */
export class Outbox<T> {
  /** The flush in progress: flushes never overlap, so entries keep their order. */
  private flushing: Promise<void> | undefined;
  private discarded = false;
  /** The next entry's number, once read from storage: always above every stored entry's. */
  private nextSeq: number | undefined;

  private readonly prefix: string;

  /** `event` names the log lines of refusals (`<event>_failed`, `<event>_abandoned`). */
  constructor(
    private readonly kv: SyncKvStorage,
    name: OutboxName,
    private readonly event: string,
  ) {
    this.prefix = `outbox/${name}/`;
  }

  add(payload: T, now: number): void {
    this.adopt(payload, 0, now + OUTBOX_GRACE_MS);
  }

  /** Adds an entry as it was kept elsewhere, tried `attempts` times (see {@link adoptLegacyOutboxes}). */
  adopt(payload: T, attempts: number, due: number): void {
    this.nextSeq ??= (this.last()?.seq ?? 0) + 1;
    this.put({ seq: this.nextSeq++, payload, attempts, due });
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

  /** Drops every entry unsent: what they say must never be delivered (a call withdrawn before its devices heard of it). */
  clear(): void {
    for (const entry of this.entries()) this.kv.delete(this.keyOf(entry.seq));
  }

  /** The room's storage is being deleted (the call was purged): nothing more is read or sent. */
  discard(): void {
    this.discarded = true;
  }

  /** When the alarm must next run for the outbox, if anything is waiting. */
  nextDue(): number | undefined {
    const dues = this.entries().map((entry) => entry.due);
    return dues.length > 0 ? Math.min(...dues) : undefined;
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
      this.kv.delete(this.keyOf(entry.seq));
    }
  }

  /** The oldest entry, if any (none once discarded). */
  private first(): OutboxEntry<T> | undefined {
    if (this.discarded) return undefined;
    for (const [, entry] of this.kv.list<OutboxEntry<T>>({ prefix: this.prefix, limit: 1 })) return entry;
    return undefined;
  }

  private last(): OutboxEntry<T> | undefined {
    for (const [, entry] of this.kv.list<OutboxEntry<T>>({ prefix: this.prefix, reverse: true, limit: 1 })) return entry;
    return undefined;
  }

  private entries(): OutboxEntry<T>[] {
    return Array.from(this.kv.list<OutboxEntry<T>>({ prefix: this.prefix }), ([, entry]) => entry);
  }

  private put(entry: OutboxEntry<T>): void {
    this.kv.put(this.keyOf(entry.seq), entry);
  }

  /** Keys sort as their numbers do: ten digits, zero-padded. */
  private keyOf(seq: number): string {
    return `${this.prefix}${String(seq).padStart(10, "0")}`;
  }

  /**
   * The receiver refused this entry: try again after a back-off (1 s, 2 s, 4 s, … ≤ 5 min), or
   * drop it after {@link OUTBOX_MAX_ATTEMPTS}. Returns when it will be retried, if at all.
   */
  private failed(entry: OutboxEntry<T>, now: number): number | undefined {
    const attempts = entry.attempts + 1;
    if (attempts >= OUTBOX_MAX_ATTEMPTS) {
      this.kv.delete(this.keyOf(entry.seq));
      return undefined;
    }
    const due = now + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempts - 1));
    this.put({ ...entry, attempts, due });
    return due;
  }
}

/**
 * Until 2026-12, each outbox was a SQL table created with the call (`outbox`, payloads in a
 * `notices` column; `line_outbox`, in `payload`). A room stored then moves what its table still
 * holds into its outbox, in order and with its attempts, and drops the table; otherwise this only
 * reads the schema. Can go once no room of that version can be alive (a call's retention period
 * after the deploy that brought it).
 */
export function adoptLegacyOutboxes(sql: SqlStorage, outboxes: Record<OutboxName, Outbox<unknown>>): void {
  const legacy: Record<OutboxName, { table: string; column: string }> = {
    notices: { table: "outbox", column: "notices" },
    lines: { table: "line_outbox", column: "payload" },
  };
  const tables = new Set(sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('outbox', 'line_outbox')").toArray().map((row) => row.name));
  for (const name of ["notices", "lines"] as const) {
    const { table, column } = legacy[name];
    if (!tables.has(table)) continue;
    for (const row of sql.exec<{ payload: string; attempts: number; due: number }>(`SELECT ${column} AS payload, attempts, due FROM ${table} ORDER BY seq`)) {
      outboxes[name].adopt(JSON.parse(row.payload), row.attempts, row.due);
    }
    sql.exec(`DROP TABLE ${table}`);
  }
}
