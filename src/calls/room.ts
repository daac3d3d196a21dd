import { DurableObject } from "cloudflare:workers";
import { offeredSubprotocols, SUBPROTOCOL } from "../auth/subprotocol";
import { ApiError } from "../platform/errors";
import { randomId } from "../platform/ids";
import { log } from "../platform/log";
import {
  createCall,
  inCall,
  nextAlarm,
  OUT_OF_CALL,
  publicView,
  roleOf,
  standingOf,
  transition,
  type Call,
  type CallEvent,
  type Effect,
  type Role,
} from "./machine";
import type { LineCall } from "./line";
import type { CallNotice, Notifier } from "./call-notice";
import { Outbox } from "./outbox";
import { recordCallChange } from "./call-events";
import { callsConfig, signalingConfig } from "./config";
import { closeQuietly, USER_HEADER } from "./sockets";
import { PENDING_MAX_BYTES, PENDING_MAX_CALL_BYTES, PENDING_MAX_FRAMES, PendingFrames } from "./pending";
import { parseClientFrame, type LeaveReason, type Participant, type RelayedFrame, type ServerFrame } from "./protocol";
import { FrameRateLimiter } from "./rate-limit";
import type { CallView, Media, Metadata } from "./schemas";

/** Per-connection state, kept in the WebSocket attachment so it survives hibernation. */
interface Attachment extends Participant {
  role: Role;
  /** Set when the room closes this socket itself, so its close is not announced twice. */
  leaving?: LeaveReason;
}

export type RoomResult<T> = { ok: true; value: T } | { ok: false; code: "not_found" | "forbidden" | "conflict"; message: string };
export type CallAction = "accept" | "decline" | "end";


const CLOSE = { normal: 1000, policy: 1008, tooBig: 1009, replaced: 4001 } as const;

/**
 * One call's room: its state and participants in SQLite-backed storage, its sockets on the
 * Hibernation API. Everything that must survive hibernation or eviction is in storage or in a
 * socket's attachment; what is in memory (the call, attachments, rate-limit buckets) is a cache
 * rebuilt on demand. Notices go through the room's outbox to the {@link Notifier} the Worker
 * entry passes in.
 */
export class CallRoom extends DurableObject<Env> {
  private readonly pending: PendingFrames;
  private readonly outbox: Outbox<CallNotice[]>;
  /** Snapshots of the call for its participants' lines (line.ts), sent like the notices. */
  private readonly lineOutbox: Outbox<LineCall>;
  /** Each outbox's current send, so sends never overlap and entries keep their order. */
  private delivering: Promise<void> | undefined;
  private updatingLines: Promise<void> | undefined;
  private readonly limiter = new FrameRateLimiter();
  private readonly attachments = new WeakMap<WebSocket, Attachment>();
  /** The call as last read or written; storage stays the truth (see {@link load}). */
  private call: Call | undefined;

  constructor(
    ctx: DurableObjectState,
    env: Env,
    private readonly notifier: Notifier,
  ) {
    super(ctx, env);
    this.pending = new PendingFrames(ctx.storage.sql);
    this.outbox = new Outbox<CallNotice[]>(ctx.storage.sql, "outbox", "notices");
    this.lineOutbox = new Outbox<LineCall>(ctx.storage.sql, "line_outbox");
    // An object without a call was reached with an unknown id (a typo, a probe, a purged call):
    // it answers 404 and must stay empty, so its tables are created only with a call.
    if (this.load()) this.installTables();
    // Answered by the runtime without waking a hibernated room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  // ── RPC from the Worker's REST routes ────────────────────────────────────────────────────

  async create(input: { callId: string; caller: string; callees: string[]; media: Media; metadata?: Metadata }): Promise<RoomResult<CallView>> {
    if (this.load()) return { ok: false, code: "conflict", message: "call already exists" };
    const { call, effects } = createCall(input, Date.now(), callsConfig(this.env));
    this.installTables();
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
    const outcome = transition(call, { type: action, userId }, Date.now(), callsConfig(this.env));
    if (!outcome.ok) return outcome;
    await this.commit(outcome.call, outcome.effects);
    return { ok: true, value: publicView(outcome.call) };
  }

  // ── WebSocket upgrade (the Worker has authenticated the user) ────────────────────────────

  override async fetch(request: Request): Promise<Response> {
    const userId = request.headers.get(USER_HEADER);
    if (!userId || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new ApiError("invalid_request", "expected an authenticated WebSocket upgrade").getResponse();
    }
    const call = this.load();
    if (!call) return new ApiError("not_found", "no such call").getResponse();
    const role = roleOf(call, userId);
    if (!role) return new ApiError("forbidden", "not a participant of this call").getResponse();
    if (call.state === "ended") return new ApiError("conflict", `the call has ended (${call.endReason})`).getResponse();
    const standing = standingOf(call, userId);
    if (standing !== "in") return new ApiError("forbidden", OUT_OF_CALL[standing]).getResponse();

    const open = this.openSockets();
    const previous = open.filter((ws) => this.attachmentOf(ws).userId === userId);
    if (open.length - previous.length >= signalingConfig(this.env).maxConnections) {
      return new ApiError("rate_limited", "this call has as many connections as it allows", { headers: { "retry-after": "5" } }).getResponse();
    }
    // One connection per user: a reconnect replaces the old socket (which may be half-dead).
    for (const old of previous) this.closeSocket(old, CLOSE.replaced, "replaced by a newer connection", "replaced");

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const me: Attachment = { userId, connectionId: randomId(12), role };
    this.ctx.acceptWebSocket(server, [`u:${userId}`, `c:${me.connectionId}`]);
    this.attach(server, me);

    const participants = this.openSockets()
      .filter((ws) => ws !== server)
      .map((ws) => participantOf(this.attachmentOf(ws)));
    send(server, {
      type: "welcome",
      callId: call.callId,
      you: participantOf(me),
      state: call.state,
      ...(call.endReason ? { reason: call.endReason } : {}),
      participants,
      caller: call.caller,
      ...(call.answeredBy !== undefined ? { answeredBy: call.answeredBy } : {}),
    });
    for (const frame of this.pending.take(userId)) server.send(frame);
    this.broadcast({ type: "participant-joined", participant: participantOf(me) }, server);
    await this.apply(call, { type: "sockets", open: participants.length + 1 });

    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: offeredSubprotocols(request.headers.get("sec-websocket-protocol")).includes(SUBPROTOCOL) ? { "sec-websocket-protocol": SUBPROTOCOL } : {},
    });
  }

  // ── Hibernation API handlers ─────────────────────────────────────────────────────────────

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      await this.onFrame(ws, message);
    } catch (error) {
      // A bug must cost one frame, never the room: the sender hears of it, the log says what.
      log("error", "frame_failed", { error: error instanceof Error ? error.name : "unknown", message: error instanceof Error ? error.message : String(error) });
      if (isOpen(ws)) send(ws, { type: "error", code: "internal", message: "the room could not handle this frame" });
    }
  }

  private async onFrame(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const me = this.attachmentOf(ws);
    // Frames still in flight from a socket the room has closed are dropped.
    if (me.leaving) return;
    const { maxFrameBytes, maxFramesPerSecond } = signalingConfig(this.env);
    // A string of n UTF-16 units is at most 3n bytes of UTF-8: only count when that may be too many.
    const size = typeof message === "string" ? (message.length * 3 <= maxFrameBytes ? 0 : encoder.encode(message).byteLength) : message.byteLength;
    if (size > maxFrameBytes) {
      this.closeSocket(ws, CLOSE.tooBig, `frame larger than ${maxFrameBytes} bytes`, "kicked");
      return;
    }
    switch (this.limiter.admit(me.connectionId, maxFramesPerSecond, Date.now())) {
      case "pass":
        break;
      case "warn":
        send(ws, { type: "error", code: "rate_limited", message: `more than ${maxFramesPerSecond} frames per second; frames are being dropped` });
        return;
      case "kick":
        this.closeSocket(ws, CLOSE.policy, "rate limit exceeded", "kicked");
        return;
      case "drop":
        return;
    }
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
    const call = this.call ?? this.load();
    if (!call || call.state === "ended") {
      send(ws, { type: "error", code: "call_ended", message: "the call has ended" });
      return;
    }
    const standing = standingOf(call, me.userId);
    if (standing !== "in") {
      send(ws, { type: "error", code: "forbidden", message: OUT_OF_CALL[standing] });
      return;
    }
    switch (frame.type) {
      case "accept":
      case "decline":
      case "hangup": {
        const action = frame.type === "hangup" ? "end" : frame.type;
        const outcome = transition(call, { type: action, userId: me.userId }, Date.now(), callsConfig(this.env));
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
    // Notices and line updates refused (or interrupted by a restart) go first, in their order.
    await Promise.all([this.deliverNotices(), this.updateLines()]);
    const outcome = transition(call, { type: "alarm" }, Date.now(), callsConfig(this.env));
    // Always commit: it re-arms the alarm for the next deadline, even when this run was early.
    if (outcome.ok) await this.commit(outcome.call, outcome.effects);
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  private installTables(): void {
    this.pending.install();
    this.outbox.install();
    this.lineOutbox.install();
  }

  /** The call from storage (and into the cache). REST calls and alarms always read storage. */
  private load(): Call | undefined {
    this.call = this.ctx.storage.kv.get<Call>("call");
    return this.call;
  }

  private async apply(call: Call, event: CallEvent): Promise<void> {
    const outcome = transition(call, event, Date.now(), callsConfig(this.env));
    if (outcome.ok && (outcome.call !== call || outcome.effects.length > 0)) await this.commit(outcome.call, outcome.effects);
  }

  /** Persists the call, re-arms the alarm, then carries out the effects (never before the write). */
  private async commit(call: Call, effects: Effect[]): Promise<void> {
    if (effects.some((effect) => effect.type === "purge")) {
      for (const ws of this.openSockets()) this.closeSocket(ws, CLOSE.normal, "call ended", "call-ended");
      this.call = undefined;
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      return;
    }
    const notices = effects.flatMap((effect) => (effect.type === "notify" && effect.notice.recipients.length > 0 ? [effect.notice] : []));
    // The call and its notices are written in one turn: one transaction, never one without the other.
    this.ctx.storage.kv.put("call", call);
    recordCallChange(this.env, this.call, call);
    if (notices.length > 0) this.outbox.add(notices, Date.now());
    // Every decision the participants could see goes to their lines (not a socket count change).
    const seen = effects.length > 0;
    if (seen) this.lineOutbox.add(lineCall(call), Date.now());
    this.call = call;
    await this.armAlarm(call);

    if (call.state === "ended") this.pending.clear();
    if (effects.some((effect) => effect.type === "broadcast-state")) {
      this.broadcast({
        type: "state",
        state: call.state,
        ...(call.endReason ? { reason: call.endReason } : {}),
        ...(call.state === "active" && call.answeredBy !== undefined ? { answeredBy: call.answeredBy } : {}),
      });
      if (call.state === "ended") {
        for (const ws of this.openSockets()) this.closeSocket(ws, CLOSE.normal, "call ended", "call-ended");
      }
    }
    for (const effect of effects) {
      if (effect.type === "dismiss") this.dismiss(effect.userIds, effect.reason);
      else if (effect.type === "release-held") this.releaseHeld(call, effect.userId);
    }
    // Not awaited: whoever caused this (POST /v1/calls, an accept) is answered without waiting for
    // the queue. The outbox keeps the notices, and the alarm retries them, until the notifier has them.
    if (notices.length > 0) void this.deliverNotices();
    if (seen) void this.updateLines();
  }

  /** The next alarm: the call's own deadline, or sooner when the outbox has something waiting. */
  private async armAlarm(call: Call): Promise<void> {
    const times = [nextAlarm(call, callsConfig(this.env)), this.outbox.nextDue(), this.lineOutbox.nextDue()].filter((at): at is number => at !== undefined);
    if (times.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.min(...times));
  }

  /** Hands the outbox to the notifier, oldest first; one send at a time. */
  private deliverNotices(): Promise<void> {
    this.delivering ??= this.drain(this.outbox, (notices) => this.notifier.notify(notices), "notify").finally(() => (this.delivering = undefined));
    return this.delivering;
  }

  /** Sends the participants' lines the call's latest snapshots, oldest first; one send at a time. */
  private updateLines(): Promise<void> {
    this.updatingLines ??= this.drain(this.lineOutbox, (call) => this.tellLines(call), "line_update").finally(() => (this.updatingLines = undefined));
    return this.updatingLines;
  }

  private async tellLines(call: LineCall): Promise<void> {
    await Promise.all([call.caller, ...call.callees].map((userId) => this.env.USER_LINE.get(this.env.USER_LINE.idFromName(userId)).record(userId, call)));
  }

  /**
   * Hands an outbox's entries to `deliver`, oldest first. A refusal stops there (later entries
   * must not overtake it) and the alarm retries it after its back-off.
   */
  private async drain<T>(outbox: Outbox<T>, deliver: (payload: T) => Promise<void>, event: string): Promise<void> {
    // `this.call` is gone once the room has been purged (its tables with it).
    for (let entry = this.call && outbox.first(); entry; entry = this.call && outbox.first()) {
      try {
        await deliver(entry.payload);
      } catch (error) {
        const retryAt = outbox.failed(entry, Date.now());
        log("error", retryAt === undefined ? `${event}_abandoned` : `${event}_failed`, { callId: this.call?.callId, attempts: entry.attempts + 1, message: String(error) });
        if (this.call) await this.armAlarm(this.call);
        return;
      }
      outbox.sent(entry.seq);
    }
  }

  private relay(ws: WebSocket, me: Attachment, call: Call, frame: RelayedFrame): void {
    const { to, ...rest } = frame;
    const text = JSON.stringify({ ...rest, from: participantOf(me) });
    // A callee's session description and candidates wait until it answers: no media before that.
    if (call.state === "ringing" && me.role === "callee" && frame.type !== "message") {
      if (!this.pending.holdFrom(me.userId, { text, ...(to !== undefined ? { to } : {}) })) send(ws, queueFull("what you send before answering waits for your answer, and the room holds no more of it"));
      return;
    }
    const problem = this.route(me.userId, call, text, to, ws);
    if (problem) send(ws, problem);
  }

  /**
   * Delivers a relayed frame to connection `to`, or to everyone else still in the call (kept for
   * those not connected). Returns what to tell the sender when it could not.
   */
  private route(sender: string, call: Call, text: string, to: string | undefined, senderSocket?: WebSocket): ServerFrame | undefined {
    if (to !== undefined) {
      const target = this.ctx.getWebSockets(`c:${to}`).find((socket) => isOpen(socket) && !this.attachmentOf(socket).leaving);
      if (!target || target === senderSocket) return { type: "error", code: "unknown_recipient", message: `no connection ${to} in this call` };
      target.send(text);
      return undefined;
    }
    const dropped: string[] = [];
    for (const userId of inCall(call)) {
      if (userId === sender) continue;
      const sockets = this.ctx.getWebSockets(`u:${userId}`).filter(isOpen);
      if (sockets.length > 0) {
        for (const socket of sockets) socket.send(text);
      } else if (!this.pending.hold(userId, text)) {
        dropped.push(userId);
      }
    }
    return dropped.length > 0 ? queueFull(`not delivered to ${dropped.join(", ")}: not connected, and the room keeps no more frames for them`) : undefined;
  }

  /** Closes the sockets of users who are out of the call and drops their frames. */
  private dismiss(userIds: string[], reason: "declined" | "answered-elsewhere"): void {
    for (const userId of userIds) {
      this.pending.forget(userId);
      for (const ws of this.ctx.getWebSockets(`u:${userId}`)) {
        if (isOpen(ws) && !this.attachmentOf(ws).leaving) this.closeSocket(ws, CLOSE.normal, OUT_OF_CALL[reason], reason);
      }
    }
  }

  /** Relays, in order, what the answering callee sent while the call was ringing. */
  private releaseHeld(call: Call, userId: string): void {
    const sender = this.ctx.getWebSockets(`u:${userId}`).find(isOpen);
    for (const frame of this.pending.takeFrom(userId)) {
      const problem = this.route(userId, call, frame.text, frame.to);
      if (problem && sender) send(sender, problem);
    }
  }

  private async onSocketGone(ws: WebSocket): Promise<void> {
    const me = this.attachmentOf(ws);
    this.limiter.forget(me.connectionId);
    // A socket the room closed itself was announced then; one the peer closed is announced now.
    if (!me.leaving) this.broadcast({ type: "participant-left", participant: participantOf(me), reason: "closed" }, ws);
    const call = this.load();
    if (call) await this.apply(call, { type: "sockets", open: this.openSockets().filter((other) => other !== ws).length });
  }

  private closeSocket(ws: WebSocket, code: number, reason: string, why: LeaveReason): void {
    const me = this.attachmentOf(ws);
    this.attach(ws, { ...me, leaving: why });
    // When the call ends everyone is closed at once: nobody is left to tell.
    if (why !== "call-ended") this.broadcast({ type: "participant-left", participant: participantOf(me), reason: why }, ws);
    closeQuietly(ws, code, reason);
  }

  private broadcast(frame: ServerFrame, except?: WebSocket): void {
    const text = JSON.stringify(frame);
    for (const ws of this.openSockets()) if (ws !== except) ws.send(text);
  }

  private openSockets(): WebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => isOpen(ws) && !this.attachmentOf(ws).leaving);
  }

  /** Stores a socket's state in its attachment (survives hibernation) and in memory (fast to read). */
  private attach(ws: WebSocket, attachment: Attachment): void {
    ws.serializeAttachment(attachment);
    this.attachments.set(ws, attachment);
  }

  /** A socket's state: from memory, or after hibernation from its attachment. */
  private attachmentOf(ws: WebSocket): Attachment {
    let attachment = this.attachments.get(ws);
    if (!attachment) {
      attachment = ws.deserializeAttachment() as Attachment;
      this.attachments.set(ws, attachment);
    }
    return attachment;
  }
}

const encoder = new TextEncoder();
const isOpen = (ws: WebSocket) => ws.readyState === WebSocket.OPEN;
const participantOf = ({ userId, connectionId }: Participant): Participant => ({ userId, connectionId });
const send = (ws: WebSocket, frame: ServerFrame) => ws.send(JSON.stringify(frame));

/** The call as its participants' lines keep it (line.ts). */
function lineCall(call: Call): LineCall {
  return {
    callId: call.callId,
    caller: call.caller,
    callees: call.callees,
    media: call.media,
    ...(call.metadata ? { metadata: call.metadata } : {}),
    state: call.state,
    createdAt: call.createdAt,
    ringsUntil: call.ringDeadline,
    ...(call.answeredAt !== undefined ? { answeredAt: call.answeredAt, answeredBy: call.answeredBy } : {}),
    ...(call.endedAt !== undefined ? { endedAt: call.endedAt, endReason: call.endReason } : {}),
    declined: call.declined,
  };
}

const queueFull = (why: string): ServerFrame => ({
  type: "error",
  code: "recipient_queue_full",
  message: `frame dropped: ${why} (at most ${PENDING_MAX_FRAMES} frames or ${PENDING_MAX_BYTES} bytes per person, ${PENDING_MAX_CALL_BYTES} bytes per call)`,
});
