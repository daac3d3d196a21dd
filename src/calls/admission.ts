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
}

/**
 * What this isolate has seen of each caller's calls, to choose each new call's {@link Admission}.
 * A caller is rung first only while this isolate has asked for fewer than `limit` of their calls
 * in the last period and has not seen them refused in it. The binding's window is fixed and at
 * most a period long, so when all of a caller's calls come through one isolate, a call rung first
 * is never refused. Calls through other isolates (other machines, other locations) are not seen
 * here: then a caller already at the limit may have one call rung first and withdrawn per isolate
 * and period, on open lines only, before this isolate learns of the refusal. Memory is bounded:
 * past `maxCallers` the least recently seen caller is forgotten, and is then treated as a caller
 * never seen.
 */
export class CallStarts {
  private readonly callers = new Map<string, CallerRecord>();

  constructor(
    private readonly limit: number,
    private readonly periodMs: number,
    private readonly maxCallers = 10_000,
  ) {}

  /** Counts one call by `caller` at `now` and says how to admit it. */
  admit(caller: string, now: number): Admission {
    const record = this.touch(caller, now);
    const refusedRecently = record.refusedAt !== undefined && now - record.refusedAt < this.periodMs;
    const admission: Admission = refusedRecently || record.starts.length >= this.limit ? "ask-first" : "ring-first";
    record.starts.push(now);
    // Only the newest `limit` starts decide (while they are in the period, so are at least `limit`).
    if (record.starts.length > this.limit) record.starts.shift();
    return admission;
  }

  /** The limiter refused a call by `caller` at `now`: their next calls here are asked first for a period. */
  refused(caller: string, now: number): void {
    this.touch(caller, now).refusedAt = now;
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
