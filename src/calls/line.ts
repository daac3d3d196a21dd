import { ApiError } from "../platform/errors";
import { log } from "../platform/log";
import { FrameRateLimiter } from "./frame-admission";
import type { CallUpdate, IncomingCall, LineServerFrame } from "./line-protocol";
import type { LineCall } from "./machine";
import type { Lines } from "./ports";
import type { CallState } from "./protocol";
import type { HistoryEntry } from "./schemas";
import { closeQuietly, SocketObject } from "./sockets";

/**
 * A user's line: one Durable Object per user (named by the user id) that knows the calls the
 * user takes part in, tells the user's open sockets (`GET /v1/me/ws`: tabs, devices) when a call
 * rings for them and what becomes of it, and answers the ringing list and the call history
 * (`GET /v1/calls`). Call rooms send it a {@link LineCall} snapshot after every change, from
 * their line outbox (room.ts), so a snapshot may arrive twice: applying one is idempotent, and
 * one that is older than what the line holds is ignored.
 */

/** The rooms' way to the lines (the {@link Lines} port): the user's `UserLine`, named by their id. */
export function userLines(namespace: DurableObjectNamespace<UserLine>): Lines {
  return { record: (userId, call) => namespace.get(namespace.idFromName(userId)).record(userId, call) };
}

/** Sockets one user may hold on their line at once (tabs, devices). */
export const MAX_LINE_SOCKETS = 10;
/** Calls a line remembers; older ones are forgotten. */
export const LINE_HISTORY = 200;
/** Frames a client may send on its line per second (it only pings); more, and it is closed. */
const LINE_FRAMES_PER_SECOND = 5;

const RANK: Record<CallState, number> = { ringing: 0, active: 1, ended: 2 };

/** The call's update as `userId` sees it: their own decline ends it for them, whatever follows. */
export function updateFor(call: LineCall, userId: string): CallUpdate {
  if (call.declined.includes(userId)) return { callId: call.callId, state: "ended", endReason: "declined" };
  return {
    callId: call.callId,
    state: call.state,
    ...(call.endReason ? { endReason: call.endReason } : {}),
    ...(call.answeredBy !== undefined ? { answeredBy: call.answeredBy } : {}),
  };
}

/** Whether the call rings for `userId` at `now`: incoming, still ringing, not declined, not timed out. */
export function ringsFor(call: LineCall, userId: string, now: number): boolean {
  return call.state === "ringing" && call.callees.includes(userId) && !call.declined.includes(userId) && now < call.ringsUntil;
}

export function incomingCall(call: LineCall): IncomingCall {
  return {
    callId: call.callId,
    caller: call.caller,
    callees: call.callees,
    media: call.media,
    ...(call.metadata ? { metadata: call.metadata } : {}),
    createdAt: new Date(call.createdAt).toISOString(),
    ringsUntil: new Date(call.ringsUntil).toISOString(),
    wsPath: `/v1/calls/${call.callId}/ws`,
  };
}

export function historyEntry(call: LineCall, userId: string): HistoryEntry {
  const iso = (ms: number) => new Date(ms).toISOString();
  const incoming = call.caller !== userId;
  const seen = updateFor(call, userId);
  return {
    callId: call.callId,
    direction: incoming ? "incoming" : "outgoing",
    caller: call.caller,
    callees: call.callees,
    media: call.media,
    ...(call.metadata ? { metadata: call.metadata } : {}),
    state: seen.state,
    createdAt: iso(call.createdAt),
    ...(call.answeredAt !== undefined ? { answeredAt: iso(call.answeredAt), answeredBy: call.answeredBy } : {}),
    ...(call.endedAt !== undefined ? { endedAt: iso(call.endedAt) } : {}),
    ...(seen.endReason ? { endReason: seen.endReason } : {}),
    ...(incoming && seen.endReason === "missed" ? { missed: true as const } : {}),
  };
}

/**
 * Whether `next` should replace `held`: a later state always does, the same state when
 * something changed within it (another callee declined); an earlier one never (a retried
 * snapshot arriving after a newer one).
 */
export function isNewer(next: LineCall, held: LineCall | undefined): boolean {
  if (!held) return true;
  if (RANK[next.state] !== RANK[held.state]) return RANK[next.state] > RANK[held.state];
  return next.declined.length > held.declined.length || JSON.stringify(next) !== JSON.stringify(held);
}


export class UserLine extends SocketObject {
  private readonly limiter = new FrameRateLimiter();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS calls (callId TEXT PRIMARY KEY, createdAt INTEGER NOT NULL, call TEXT NOT NULL)");
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS calls_by_time ON calls (createdAt, callId)");
  }

  // ── RPC from call rooms and the Worker's routes ──────────────────────────────────────────

  /** A room's snapshot of a call `userId` takes part in: told to the user's sockets, and stored. */
  async record(userId: string, call: LineCall): Promise<void> {
    const held = this.get(call.callId);
    if (!isNewer(call, held)) return;
    // Told before it is stored: a socket send waits for the object's pending writes to be
    // durable, and the tabs need not wait for that. Should the write then fail, the room's call
    // to record fails too and the room sends the snapshot again (a tab may then hear it twice).
    const frame = frameFor(userId, call, held, Date.now());
    if (frame) this.broadcast(frame);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO calls (callId, createdAt, call) VALUES (?, ?, ?)", call.callId, call.createdAt, JSON.stringify(call));
    // Only a new call can take the line past its history's length.
    if (!held) this.forgetOld();
  }

  /** The calls ringing for `userId` now, oldest first. */
  async ringing(userId: string): Promise<IncomingCall[]> {
    const now = Date.now();
    return this.all().filter((call) => ringsFor(call, userId, now)).map(incomingCall);
  }

  /**
   * The user's calls, newest first (by creation, then id): at most `limit`, after `before` in
   * that order when given (created before `at`, or at `at` with a smaller id than `callId`).
   */
  async history(userId: string, limit: number, before?: { at: number; callId?: string }): Promise<{ calls: HistoryEntry[]; next?: string }> {
    const at = before?.at ?? Number.MAX_SAFE_INTEGER;
    const rows = this.ctx.storage.sql
      .exec<{ call: string }>(
        "SELECT call FROM calls WHERE createdAt < ? OR (createdAt = ? AND callId < ?) ORDER BY createdAt DESC, callId DESC LIMIT ?",
        at,
        at,
        before?.callId ?? "",
        limit + 1,
      )
      .toArray();
    const calls = rows.slice(0, limit).map((row) => JSON.parse(row.call) as LineCall);
    const last = calls.at(-1);
    return {
      calls: calls.map((call) => historyEntry(call, userId)),
      ...(rows.length > limit && last ? { next: `${new Date(last.createdAt).toISOString()}~${last.callId}` } : {}),
    };
  }

  // ── The user's sockets ───────────────────────────────────────────────────────────────────

  protected override async onUpgrade(server: WebSocket, userId: string): Promise<ApiError | undefined> {
    const open = this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
    if (open.length >= MAX_LINE_SOCKETS) {
      return new ApiError("rate_limited", `a user may hold ${MAX_LINE_SOCKETS} line sockets at once; close one first`, { headers: { "retry-after": "5" } });
    }
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ id: crypto.randomUUID() });
    send(server, { type: "welcome", userId, calls: await this.ringing(userId) });
    return undefined;
  }

  protected override async onFrame(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const { id } = ws.deserializeAttachment() as { id: string };
    // A line listens; a client that keeps talking to it is closed.
    const verdict = this.limiter.admit(id, LINE_FRAMES_PER_SECOND, Date.now());
    if (verdict === "kick") return closeQuietly(ws, 1008, "rate limit exceeded");
    if (verdict !== "pass") return;
    if (typeof message === "string" && message.length <= 256 && isPing(message)) return send(ws, { type: "pong" });
    send(ws, { type: "error", code: "invalid_frame", message: 'a line accepts only {"type":"ping"}' });
  }

  protected override async onSocketGone(ws: WebSocket): Promise<void> {
    this.limiter.forget((ws.deserializeAttachment() as { id: string }).id);
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  private get(callId: string): LineCall | undefined {
    const row = this.ctx.storage.sql.exec<{ call: string }>("SELECT call FROM calls WHERE callId = ?", callId).toArray()[0];
    return row && (JSON.parse(row.call) as LineCall);
  }

  private all(): LineCall[] {
    return this.ctx.storage.sql
      .exec<{ call: string }>("SELECT call FROM calls ORDER BY createdAt, callId")
      .toArray()
      .map((row) => JSON.parse(row.call) as LineCall);
  }

  private forgetOld(): void {
    this.ctx.storage.sql.exec(
      "DELETE FROM calls WHERE callId NOT IN (SELECT callId FROM calls ORDER BY createdAt DESC, callId DESC LIMIT ?)",
      LINE_HISTORY,
    );
  }

  private broadcast(frame: LineServerFrame): void {
    const text = JSON.stringify(frame);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch (error) {
        log("warn", "line_send_failed", { message: String(error) });
      }
    }
  }
}

/**
 * What the user's sockets hear of a change: `incoming-call` the first time a call rings for them,
 * `call-update` when what they see of it changed, nothing otherwise.
 */
export function frameFor(userId: string, call: LineCall, held: LineCall | undefined, now: number): LineServerFrame | undefined {
  if (!held && ringsFor(call, userId, now)) return { type: "incoming-call", call: incomingCall(call) };
  const update = updateFor(call, userId);
  const before = held && updateFor(held, userId);
  // A call first heard of in its ringing state by someone it does not ring for (the caller) is no news.
  if (!before && update.state === "ringing") return undefined;
  if (before && JSON.stringify(before) === JSON.stringify(update)) return undefined;
  return { type: "call-update", call: update };
}

const send = (ws: WebSocket, frame: LineServerFrame) => ws.send(JSON.stringify(frame));

function isPing(text: string): boolean {
  try {
    const frame = JSON.parse(text) as unknown;
    return typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "ping" && Object.keys(frame).length === 1;
  } catch {
    return false;
  }
}
