/**
 * How a new call is admitted against its caller's limit of calls started (`RATE_LIMITS.calls`,
 * counted by the Rate Limiting binding):
 * - `ring-first`: the room rings the callees' lines while it asks the limiter, and holds the
 *   call's pushes until the limiter has answered. A refusal then withdraws the call (its lines
 *   hear it end `cancelled`; no device was ever told) and the caller gets 429.
 * - `ask-first`: the room asks the limiter before anything is written or rung (a refused call
 *   goes as if it had never been).
 *
 * Ringing first takes the limiter's round trip off the path to the callee; asking first is for a
 * caller who may be at the limit, so that nobody is rung for a call that is then refused.
 */
export type Admission = "ring-first" | "ask-first";

interface CallerRecord {
  /** When this isolate asked the limiter for this caller, oldest first: the newest `limit`, within the last period. */
  starts: number[];
  /** When the limiter last refused this caller here. */
  refusedAt?: number;
  /** A call of theirs rung first is waiting for the limiter: the next ones are asked first. */
  ringing?: boolean;
}

/**
 * What this isolate has seen of each caller's calls, to choose each new call's {@link Admission}.
 * A caller is rung first only while this isolate has asked for fewer than `limit` of their calls
 * in the last period, has not seen them refused in it, and has no other call of theirs rung first
 * still waiting for the limiter. When all of a caller's calls come through one isolate, the
 * binding counts no more than this isolate saw, so a call rung first is not refused. Calls
 * through other isolates (other machines, other locations) are not seen here: then a caller
 * already at the limit may have one call rung first and withdrawn per isolate and period, on open
 * lines only and never pushed, before this isolate learns of the refusal. Memory is bounded: past
 * `maxCallers` the least recently seen caller is forgotten, and is then treated as a caller never
 * seen.
 */
export class CallStarts {
  private readonly callers = new Map<string, CallerRecord>();

  constructor(
    private readonly limit: number,
    private readonly periodMs: number,
    private readonly maxCallers = 10_000,
  ) {}

  /** Counts one call by `caller` at `now` and says how to admit it; tell {@link answered} how it went. */
  admit(caller: string, now: number): Admission {
    const record = this.touch(caller, now);
    const refusedRecently = record.refusedAt !== undefined && now - record.refusedAt < this.periodMs;
    const admission: Admission = refusedRecently || record.ringing || record.starts.length >= this.limit ? "ask-first" : "ring-first";
    if (admission === "ring-first") record.ringing = true;
    record.starts.push(now);
    // Only the newest `limit` starts decide (while they are in the period, so are at least `limit`).
    if (record.starts.length > this.limit) record.starts.shift();
    return admission;
  }

  /**
   * A call `caller` started with `admission` was answered (or failed) at `now`; `refused` when the
   * limiter refused it, so that their next calls here are asked first for a period.
   */
  answered(caller: string, admission: Admission, refused: boolean, now: number): void {
    const record = this.touch(caller, now);
    if (admission === "ring-first") record.ringing = false;
    if (refused) record.refusedAt = now;
  }

  /** The caller's record, its old starts dropped, moved to the most recently seen end. */
  private touch(caller: string, now: number): CallerRecord {
    const record = this.callers.get(caller) ?? { starts: [] };
    this.callers.delete(caller);
    this.callers.set(caller, record);
    while (record.starts.length > 0 && now - record.starts[0]! >= this.periodMs) record.starts.shift();
    if (this.callers.size > this.maxCallers) this.callers.delete(this.callers.keys().next().value!);
    return record;
  }
}
