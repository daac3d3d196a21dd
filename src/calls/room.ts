import { DurableObject } from "cloudflare:workers";
import { getConfig, type Config } from "../config";
import { jsonError } from "../errors";
import { randomId } from "../ids";
import type { Notifier } from "../push/notifications";
import { notifierFor } from "../push/notifier";
import {
  createCall,
  nextAlarm,
  publicView,
  roleOf,
  transition,
  type Call,
  type CallEvent,
  type Effect,
  type Media,
  type Metadata,
  type Role,
} from "./machine";
import { parseClientFrame, SUBPROTOCOL, type LeaveReason, type Participant, type RelayedFrame, type ServerFrame } from "./protocol";

/** Per-connection state, kept in the WebSocket attachment so it survives hibernation. */
interface Attachment extends Participant {
  role: Role;
  /** Set when the room closes this socket itself, so its close is not announced twice. */
  leaving?: LeaveReason;
}

export type CallView = ReturnType<typeof publicView>;
export type RoomResult<T> = { ok: true; value: T } | { ok: false; code: "not_found" | "forbidden" | "conflict"; message: string };
export type CallAction = "accept" | "decline" | "end";

/** The header through which the Worker tells the room who is upgrading (never from a client). */
export const USER_HEADER = "x-secureconnect-user";

// Frames kept for a participant who is not connected, delivered in order when they join.
export const PENDING_MAX_FRAMES = 256;
export const PENDING_MAX_BYTES = 1024 * 1024;

const CLOSE = { normal: 1000, policy: 1008, tooBig: 1009, replaced: 4001 } as const;
const encoder = new TextEncoder();

/**
 * One call's room: its state and participants in SQLite-backed storage, its sockets on the
 * Hibernation API. Everything that must survive hibernation or eviction is in storage or in a
 * socket's attachment; the only in-memory state is the rate-limit buckets, which start full.
 */
export class CallRoom extends DurableObject<Env> {
  /** Where the call's notifications go (replaceable, so tests can record the decisions). */
  notifier: Notifier;
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number; drops: number; lastDropAt: number }>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.notifier = notifierFor(env);
    // Answered by the runtime without waking a hibernated room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  // ── RPC from the Worker's REST routes ────────────────────────────────────────────────────

  async create(input: { callId: string; caller: string; callees: string[]; media: Media; metadata?: Metadata }): Promise<RoomResult<CallView>> {
    if (this.load()) return { ok: false, code: "conflict", message: "call already exists" };
    this.ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, frame TEXT NOT NULL, bytes INTEGER NOT NULL)",
    );
    const { call, effects } = createCall(input, Date.now(), this.config.calls);
    await this.commit(call, effects);
    return { ok: true, value: publicView(call) };
  }

  async view(userId: string): Promise<RoomResult<CallView>> {
    const call = this.load();
    if (!call) return { ok: false, code: "not_found", message: "no such call" };
    if (!roleOf(call, userId)) return { ok: false, code: "forbidden", message: "not a participant of this call" };
    return { ok: true, value: publicView(call) };
  }

  async act(userId: string, action: CallAction): Promise<RoomResult<CallView>> {
    const call = this.load();
    if (!call) return { ok: false, code: "not_found", message: "no such call" };
    const outcome = transition(call, { type: action, userId }, Date.now(), this.config.calls);
    if (!outcome.ok) return outcome;
    await this.commit(outcome.call, outcome.effects);
    return { ok: true, value: publicView(outcome.call) };
  }

  // ── WebSocket upgrade (the Worker has authenticated the user) ────────────────────────────

  override async fetch(request: Request): Promise<Response> {
    const userId = request.headers.get(USER_HEADER);
    if (!userId || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return jsonError("invalid_request", "expected an authenticated WebSocket upgrade");
    }
    const call = this.load();
    if (!call) return jsonError("not_found", "no such call");
    const role = roleOf(call, userId);
    if (!role) return jsonError("forbidden", "not a participant of this call");
    if (call.state === "ended") return jsonError("conflict", `the call has ended (${call.endReason})`);

    const previous = this.openSockets().filter((ws) => attachmentOf(ws).userId === userId);
    const others = this.openSockets().length - previous.length;
    if (others >= this.config.signaling.maxConnections) {
      return jsonError("rate_limited", "this call has as many connections as it allows", { "retry-after": "5" });
    }
    // One connection per user: a reconnect replaces the old socket (which may be half-dead).
    for (const old of previous) this.closeSocket(old, CLOSE.replaced, "replaced by a newer connection", "replaced");

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const me: Attachment = { userId, connectionId: randomId(12), role };
    this.ctx.acceptWebSocket(server, [`u:${userId}`, `c:${me.connectionId}`]);
    server.serializeAttachment(me);

    const participants = this.openSockets()
      .filter((ws) => ws !== server)
      .map((ws) => participantOf(attachmentOf(ws)));
    send(server, {
      type: "welcome",
      callId: call.callId,
      you: participantOf(me),
      state: call.state,
      ...(call.endReason ? { reason: call.endReason } : {}),
      participants,
    });
    this.flushPending(server, userId);
    this.broadcast({ type: "participant-joined", participant: participantOf(me) }, server);
    await this.apply(call, { type: "sockets", open: participants.length + 1 });

    const offered = request.headers.get("sec-websocket-protocol")?.split(",").map((value) => value.trim()) ?? [];
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: offered.includes(SUBPROTOCOL) ? { "sec-websocket-protocol": SUBPROTOCOL } : {},
    });
  }

  // ── Hibernation API handlers ─────────────────────────────────────────────────────────────

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const me = attachmentOf(ws);
    // Frames still in flight from a socket the room has closed are dropped.
    if (me.leaving) return;
    const { maxFrameBytes } = this.config.signaling;
    const size = typeof message === "string" ? (message.length * 3 <= maxFrameBytes ? 0 : encoder.encode(message).byteLength) : message.byteLength;
    if (size > maxFrameBytes) {
      this.closeSocket(ws, CLOSE.tooBig, `frame larger than ${maxFrameBytes} bytes`, "kicked");
      return;
    }
    if (!this.withinRate(ws, me)) return;
    if (typeof message !== "string") {
      send(ws, { type: "error", code: "invalid_frame", message: "frames are JSON text; binary frames are not supported" });
      return;
    }
    const parsed = parseClientFrame(message);
    if (!parsed.ok) {
      send(ws, { type: "error", code: "invalid_frame", message: parsed.message });
      return;
    }
    const frame = parsed.frame;
    // A ping spelled differently from the auto-response's exact text ends up here: still a pong.
    if (frame.type === "ping") {
      send(ws, { type: "pong" });
      return;
    }
    const call = this.load();
    if (!call || call.state === "ended") {
      send(ws, { type: "error", code: "call_ended", message: "the call has ended" });
      return;
    }
    switch (frame.type) {
      case "accept":
      case "decline":
      case "hangup": {
        const action = frame.type === "hangup" ? "end" : frame.type;
        const outcome = transition(call, { type: action, userId: me.userId }, Date.now(), this.config.calls);
        if (!outcome.ok) {
          send(ws, { type: "error", code: outcome.code, message: outcome.message });
          return;
        }
        await this.commit(outcome.call, outcome.effects);
        return;
      }
      case "offer":
      case "answer":
      case "candidate":
      case "message":
        this.relay(ws, me, call, frame);
        return;
      default: {
        const unknown: never = frame;
        throw new Error(`unhandled frame ${JSON.stringify(unknown)}`);
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Reciprocate the peer's Close frame to complete the handshake (else the client sees 1006).
    closeQuietly(ws, code, reason);
    await this.onSocketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.onSocketGone(ws);
  }

  override async alarm(): Promise<void> {
    const call = this.load();
    if (!call) return;
    const outcome = transition(call, { type: "alarm" }, Date.now(), this.config.calls);
    // Always commit: it re-arms the alarm for the next deadline, even when this run was early.
    if (outcome.ok) await this.commit(outcome.call, outcome.effects);
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  private get config(): Config {
    return getConfig(this.env);
  }

  private load(): Call | undefined {
    return this.ctx.storage.kv.get<Call>("call");
  }

  private async apply(call: Call, event: CallEvent): Promise<void> {
    const outcome = transition(call, event, Date.now(), this.config.calls);
    if (outcome.ok && (outcome.call !== call || outcome.effects.length > 0)) await this.commit(outcome.call, outcome.effects);
  }

  /** Persists the call, re-arms the alarm, then carries out the effects (never before the write). */
  private async commit(call: Call, effects: Effect[]): Promise<void> {
    if (effects.some((effect) => effect.type === "purge")) {
      for (const ws of this.openSockets()) this.closeSocket(ws, CLOSE.normal, "call ended", "call-ended");
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      return;
    }
    this.ctx.storage.kv.put("call", call);
    const at = nextAlarm(call, this.config.calls);
    if (at === undefined) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(at);

    if (call.state === "ended") this.ctx.storage.sql.exec("DELETE FROM pending");
    if (effects.some((effect) => effect.type === "broadcast-state")) {
      this.broadcast({ type: "state", state: call.state, ...(call.endReason ? { reason: call.endReason } : {}) });
      if (call.state === "ended") {
        for (const ws of this.openSockets()) this.closeSocket(ws, CLOSE.normal, "call ended", "call-ended");
      }
    }
    const notifications = effects.flatMap((effect) => (effect.type === "notify" && effect.notification.recipients.length > 0 ? [effect.notification] : []));
    if (notifications.length > 0) {
      try {
        await this.notifier.notify(notifications);
      } catch (error) {
        console.error(JSON.stringify({ level: "error", event: "notify_failed", callId: call.callId, message: String(error) }));
      }
    }
  }

  private relay(ws: WebSocket, me: Attachment, call: Call, frame: RelayedFrame): void {
    const { to, ...rest } = frame;
    const text = JSON.stringify({ ...rest, from: participantOf(me) });
    if (to !== undefined) {
      const target = this.ctx.getWebSockets(`c:${to}`).find(isOpen);
      if (!target || target === ws) {
        send(ws, { type: "error", code: "unknown_recipient", message: `no connection ${to} in this call` });
        return;
      }
      target.send(text);
      return;
    }
    for (const userId of [call.caller, ...call.callees]) {
      if (userId === me.userId || call.declined.includes(userId)) continue;
      const sockets = this.ctx.getWebSockets(`u:${userId}`).filter(isOpen);
      if (sockets.length > 0) {
        for (const socket of sockets) socket.send(text);
      } else if (!this.enqueue(userId, text)) {
        send(ws, {
          type: "error",
          code: "recipient_queue_full",
          message: `${userId} is not connected and has ${PENDING_MAX_FRAMES} frames or ${PENDING_MAX_BYTES} bytes waiting; frame dropped for them`,
        });
      }
    }
  }

  private enqueue(userId: string, text: string): boolean {
    const bytes = encoder.encode(text).byteLength;
    const waiting = this.ctx.storage.sql
      .exec<{ frames: number; bytes: number }>("SELECT COUNT(*) AS frames, COALESCE(SUM(bytes), 0) AS bytes FROM pending WHERE recipient = ?", userId)
      .one();
    if (waiting.frames >= PENDING_MAX_FRAMES || waiting.bytes + bytes > PENDING_MAX_BYTES) return false;
    this.ctx.storage.sql.exec("INSERT INTO pending (recipient, frame, bytes) VALUES (?, ?, ?)", userId, text, bytes);
    return true;
  }

  private flushPending(ws: WebSocket, userId: string): void {
    const rows = this.ctx.storage.sql.exec<{ frame: string }>("SELECT frame FROM pending WHERE recipient = ? ORDER BY seq", userId).toArray();
    for (const row of rows) ws.send(row.frame);
    if (rows.length > 0) this.ctx.storage.sql.exec("DELETE FROM pending WHERE recipient = ?", userId);
  }

  /**
   * Token bucket per connection: `rate` frames/s, and a burst of at most `rate` frames at once
   * (an offer and its trickled candidates are a few dozen), so no second ever carries more than
   * the contract's limit. Dropped frames form an episode until a second passes without a drop:
   * the first drop of an episode gets an `error` frame, and more than `rate` drops in one
   * episode close the socket (1008).
   */
  private withinRate(ws: WebSocket, me: Attachment): boolean {
    const rate = this.config.signaling.maxFramesPerSecond;
    const now = Date.now();
    const bucket = this.buckets.get(me.connectionId) ?? { tokens: rate, updatedAt: now, drops: 0, lastDropAt: 0 };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate);
    bucket.updatedAt = now;
    this.buckets.set(me.connectionId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    if (now - bucket.lastDropAt > 1000) bucket.drops = 0;
    bucket.drops += 1;
    bucket.lastDropAt = now;
    if (bucket.drops === 1) {
      send(ws, { type: "error", code: "rate_limited", message: `more than ${rate} frames per second; frames are being dropped` });
    } else if (bucket.drops > rate) {
      this.closeSocket(ws, CLOSE.policy, "rate limit exceeded", "kicked");
    }
    return false;
  }

  private async onSocketGone(ws: WebSocket): Promise<void> {
    const me = attachmentOf(ws);
    this.buckets.delete(me.connectionId);
    // A socket the room closed itself was announced then; one the peer closed is announced now.
    if (!me.leaving) this.broadcast({ type: "participant-left", participant: participantOf(me), reason: "closed" }, ws);
    const call = this.load();
    if (call) await this.apply(call, { type: "sockets", open: this.openSockets().filter((other) => other !== ws).length });
  }

  private closeSocket(ws: WebSocket, code: number, reason: string, why: LeaveReason): void {
    const me = attachmentOf(ws);
    ws.serializeAttachment({ ...me, leaving: why });
    // When the call ends everyone is closed at once: nobody is left to tell.
    if (why !== "call-ended") this.broadcast({ type: "participant-left", participant: participantOf(me), reason: why }, ws);
    closeQuietly(ws, code, reason);
  }

  private broadcast(frame: ServerFrame, except?: WebSocket): void {
    const text = JSON.stringify(frame);
    for (const ws of this.openSockets()) if (ws !== except) ws.send(text);
  }

  private openSockets(): WebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => isOpen(ws) && !attachmentOf(ws).leaving);
  }
}

const isOpen = (ws: WebSocket) => ws.readyState === WebSocket.OPEN;
const attachmentOf = (ws: WebSocket) => ws.deserializeAttachment() as Attachment;
const participantOf = ({ userId, connectionId }: Participant): Participant => ({ userId, connectionId });
const send = (ws: WebSocket, frame: ServerFrame) => ws.send(JSON.stringify(frame));

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  // 1005, 1006 and 1015 are reserved for the runtime's own reports and throw if sent.
  const safe = code === 1005 || code === 1006 || code === 1015 || code < 1000 ? CLOSE.normal : code;
  try {
    ws.close(safe, reason);
  } catch {
    // Already closing or closed.
  }
}
