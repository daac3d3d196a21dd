import { ApiError } from "../platform/errors";
import { randomId } from "../platform/ids";
import { checkRateLimit } from "../platform/request-limits";
import type { Admission } from "./admission";
import { recordCallChange } from "./call-events";
import type { CallNotice } from "./call-notice";
import { callsConfig, signalingConfig } from "./config";
import { admitFrame, FrameRateLimiter } from "./frame-admission";
import {
  createCall,
  lineCall,
  nextAlarm,
  OUT_OF_CALL,
  possibleNotices,
  publicView,
  roleOf,
  standingOf,
  transition,
  type Call,
  type CallEvent,
  type Effect,
  type LineCall,
  type Role,
} from "./machine";
import { adoptLegacyOutboxes, Outbox } from "./outbox";
import { PendingFrames } from "./pending";
import type { RoomPorts } from "./ports";
import { Relay } from "./relay";
import { RoomAlarm } from "./room-alarm";
import type { LeaveReason, Participant, ServerFrame } from "./protocol";
import type { CallView, Media, Metadata } from "./schemas";
import { closeQuietly, isOpen, SocketObject } from "./sockets";

/** Per-connection state, kept in the WebSocket attachment so it survives hibernation. */
interface Attachment extends Participant {
  role: Role;
  /** Set when the room closes this socket itself, so its close is not announced twice. */
  leaving?: LeaveReason;
}

export type RoomResult<T> =
  // `overLimit`: a call rung first that the limiter refused after it was answered; it stands.
  | { ok: true; value: T; overLimit?: true }
  | { ok: false; code: "invalid_request" | "not_found" | "forbidden" | "conflict" | "rate_limited"; message: string; headers?: Record<string, string> };
export type CallAction = "accept" | "decline" | "end";

const CLOSE = { normal: 1000, replaced: 4001 } as const;

/**
 * Sockets one participant may open on a call: a burst of {@link UPGRADE_BURST}, then one every
 * two seconds. Each new socket replaces the old one and is announced to the others, so a client
 * cycling sockets would otherwise flood them with participant-left and -joined.
 */
export const UPGRADE_BURST = 5;
const UPGRADES_PER_SECOND = 0.5;

/**
 * One call's room: its state and participants in SQLite-backed storage, its sockets on the
 * Hibernation API (the socket plumbing is {@link SocketObject}'s). Everything that must survive
 * hibernation or eviction is in storage or in a socket's attachment; what is in memory (the
 * call, attachments, rate-limit buckets) is a cache rebuilt on demand. What the call decides for
 * people elsewhere goes through the room's outboxes to its {@link RoomPorts}: notices to the
 * notifier (their devices), snapshots to their lines (their open tabs).
 */
export class CallRoom extends SocketObject {
  private readonly pending: PendingFrames;
  private readonly relay: Relay;
  private readonly notices: Outbox<CallNotice[]>;
  private readonly lineUpdates: Outbox<LineCall>;
  /** Per participant, across reconnects: frames, and new sockets. */
  private readonly frameLimiter = new FrameRateLimiter();
  private readonly upgradeLimiter = new FrameRateLimiter();
  private readonly attachments = new WeakMap<WebSocket, Attachment>();
  /** The call as last read or written; storage stays the truth (see {@link load}). */
  private call: Call | undefined;
  /** The call's deadline or the outboxes' next entry, whichever is first. */
  private readonly clock: RoomAlarm;
  /** A new call's admission while the limiter is asked ({@link whileAdmitting}). */
  private admitting: Promise<unknown> | undefined;

  constructor(
    ctx: DurableObjectState,
    env: Env,
    private readonly ports: RoomPorts,
  ) {
    super(ctx, env);
    this.pending = new PendingFrames(ctx.storage.sql);
    this.relay = new Relay(ctx, this.pending, (ws) => !this.attachmentOf(ws).leaving);
    this.notices = new Outbox<CallNotice[]>(ctx.storage.kv, "notices", "notify");
    this.lineUpdates = new Outbox<LineCall>(ctx.storage.kv, "lines", "line_update");
    this.clock = new RoomAlarm(ctx.storage, () => (this.call ? [nextAlarm(this.call, callsConfig(env)), this.notices.nextDue(), this.lineUpdates.nextDue()] : []));
    // An object without a call was reached with an unknown id (a typo, a probe, a purged call)
    // and must stay empty; only a stored call may still have outbox tables of an older version.
    if (this.load()) adoptLegacyOutboxes(ctx.storage.sql, { notices: this.notices, lines: this.lineUpdates });
  }

  // ── RPC from the Worker's REST routes ────────────────────────────────────────────────────

  /**
   * Creates the call and rings its callees, within the caller's limit of calls started, admitted
   * the way the Worker chose ({@link Admission}). The limit is asked for before anything is
   * written, so that its answer and the first write's durability are awaited together.
   */
  async create(
    input: { callId: string; caller: string; callees: string[]; media: Media; metadata?: Metadata },
    admission: Admission = "ask-first",
  ): Promise<RoomResult<CallView>> {
    if (this.load()) return { ok: false, code: "conflict", message: "call already exists" };
    const { call, effects } = createCall(input, Date.now(), callsConfig(this.env));
    // Every push the call may cause must fit its provider: refused now, never dropped later.
    const tooLarge = this.ports.notifier.refusal(possibleNotices(call));
    if (tooLarge) return { ok: false, code: "invalid_request", message: `the call's metadata and ids are too large for push: ${tooLarge}` };
    const limit = checkRateLimit(this.env, "calls", input.caller);
    // Stored with the call, how it is being admitted: until the limiter has answered, no device
    // hears of it (see flushNotices), nor, asked first, any line; and should this instance die
    // first, the alarm knows what to undo.
    this.ctx.storage.kv.put(UNADMITTED, admission);
    const armed = this.persist(call, effects);
    return this.whileAdmitting(admission === "ring-first" ? this.ringFirst(call, effects, armed, limit) : this.askFirst(call, effects, armed, limit));
  }

  async view(userId: string): Promise<RoomResult<CallView>> {
    const call = this.load();
    if (!call) return { ok: false, code: "not_found", message: "no such call" };
    if (!roleOf(call, userId)) return { ok: false, code: "forbidden", message: "not a participant of this call" };
    return { ok: true, value: publicView(call) };
  }

  /**
   * Whether this is `userId`'s first client report of `trigger` on this call: each participant's
   * report of each trigger counts once (a client resending, or a hostile one, changes nothing).
   */
  async acceptReport(userId: string, trigger: string): Promise<RoomResult<boolean>> {
    const call = this.load();
    if (!call) return { ok: false, code: "not_found", message: "no such call" };
    if (!roleOf(call, userId)) return { ok: false, code: "forbidden", message: "not a participant of this call" };
    const key = `report:${trigger}:${userId}`;
    if (this.ctx.storage.kv.get(key) !== undefined) return { ok: true, value: false };
    this.ctx.storage.kv.put(key, Date.now());
    return { ok: true, value: true };
  }

  async act(userId: string, action: CallAction): Promise<RoomResult<CallView>> {
    const call = this.load();
    if (!call) return { ok: false, code: "not_found", message: "no such call" };
    const outcome = transition(call, { type: action, userId }, Date.now(), callsConfig(this.env));
    if (!outcome.ok) return outcome;
    await this.commit(outcome.call, outcome.effects);
    return { ok: true, value: publicView(outcome.call) };
  }

  // ── Sockets (the Worker has authenticated the user) ──────────────────────────────────────

  protected override async onUpgrade(server: WebSocket, userId: string): Promise<ApiError | undefined> {
    const call = this.load();
    if (!call) return new ApiError("not_found", "no such call");
    const role = roleOf(call, userId);
    if (!role) return new ApiError("forbidden", "not a participant of this call");
    if (call.state === "ended") return new ApiError("conflict", `the call has ended (${call.endReason})`);
    const standing = standingOf(call, userId);
    if (standing !== "in") return new ApiError("forbidden", OUT_OF_CALL[standing]);
    if (this.upgradeLimiter.admit(userId, UPGRADES_PER_SECOND, Date.now(), UPGRADE_BURST) !== "pass") {
      return new ApiError("rate_limited", `at most ${UPGRADE_BURST} new sockets per participant at once, then one every 2 seconds`, { headers: { "retry-after": "2" } });
    }
    const open = this.openSockets();
    const previous = open.filter((ws) => this.attachmentOf(ws).userId === userId);
    // The caller and the callee who answered always get in; ringing callees share the other
    // slots, so a group ring can never lock the caller out of their own call.
    const reserved = userId === call.caller || userId === call.answeredBy;
    const others = open.filter((ws) => ![userId, call.caller].includes(this.attachmentOf(ws).userId));
    if (!reserved && others.length >= signalingConfig(this.env).maxConnections - 1) {
      return new ApiError("rate_limited", "this call has as many connections as it allows", { headers: { "retry-after": "5" } });
    }
    // One connection per user: a reconnect replaces the old socket (which may be half-dead).
    for (const old of previous) this.closeSocket(old, CLOSE.replaced, "replaced by a newer connection", "replaced");

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
    for (const frame of this.pending.takePending(userId)) server.send(frame);
    this.broadcast({ type: "participant-joined", participant: participantOf(me) }, server);
    await this.apply(call, { type: "sockets", open: participants.length + 1 });
    return undefined;
  }

  protected override async onFrame(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const me = this.attachmentOf(ws);
    // Frames still in flight from a socket the room has closed are dropped.
    if (me.leaving) return;
    const admission = admitFrame(message, {
      userId: me.userId,
      limits: signalingConfig(this.env),
      limiter: this.frameLimiter,
      call: this.call ?? this.load(),
      now: Date.now(),
    });
    switch (admission.verdict) {
      case "drop":
        return;
      case "reply":
        return send(ws, admission.frame);
      case "close":
        return this.closeSocket(ws, admission.code, admission.reason, "kicked");
      case "admit":
        break;
    }
    const { frame, call } = admission;
    switch (frame.type) {
      case "accept":
      case "decline":
      case "hangup": {
        const outcome = transition(call, { type: frame.type === "hangup" ? "end" : frame.type, userId: me.userId }, Date.now(), callsConfig(this.env));
        if (!outcome.ok) return send(ws, { type: "error", code: outcome.code, message: outcome.message });
        return this.commit(outcome.call, outcome.effects);
      }
      case "offer":
      case "answer":
      case "candidate":
      case "message": {
        const problem = this.relay.forward(me, ws, call, frame);
        if (problem) send(ws, problem);
        return;
      }
      default: {
        const unknown: never = frame;
        throw new Error(`unhandled frame ${JSON.stringify(unknown)}`);
      }
    }
  }

  protected override async onSocketGone(ws: WebSocket): Promise<void> {
    const me = this.attachmentOf(ws);
    // A socket the room closed itself was announced then; one the peer closed is announced now.
    if (!me.leaving) this.broadcast({ type: "participant-left", participant: participantOf(me), reason: "closed" }, ws);
    const call = this.load();
    if (call) await this.apply(call, { type: "sockets", open: this.openSockets().filter((other) => other !== ws).length });
  }

  override async alarm(): Promise<void> {
    this.clock.ran();
    // A create still waiting for its limiter (at most LIMITER_TIMEOUT_MS) decides first.
    await this.admitting?.catch(() => undefined);
    if (!this.load()) return;
    // A create that died with an earlier instance of the room, before the limiter answered: its
    // caller never had an answer, so the call is undone as if refused. Asked first, nobody heard of
    // it: it goes. Rung first, its lines did: it is withdrawn.
    const interrupted = this.ctx.storage.kv.get<Admission>(UNADMITTED);
    if (interrupted === "ask-first") return this.purge();
    if (interrupted) await this.admit(new ApiError("rate_limited", "the call's admission was interrupted"));
    // Notices and line updates refused (or interrupted by a restart) go first, in their order.
    await Promise.all([this.flushNotices(), this.flushLines()]);
    // Read again: while the flushes were out on the network, an accept or a hang-up may have
    // changed the call (input gates hold events only during storage operations).
    const call = this.load();
    if (!call) return;
    const outcome = transition(call, { type: "alarm" }, Date.now(), callsConfig(this.env));
    // Always commit: it re-arms the alarm for the next deadline, even when this run was early.
    if (outcome.ok) await this.commit(outcome.call, outcome.effects);
  }

  // ── The call's state and what follows from it ────────────────────────────────────────────

  /** The call from storage (and into the cache). REST calls and alarms always read storage. */
  private load(): Call | undefined {
    this.call = this.ctx.storage.kv.get<Call>("call");
    return this.call;
  }

  private async apply(call: Call, event: CallEvent): Promise<void> {
    const outcome = transition(call, event, Date.now(), callsConfig(this.env));
    if (outcome.ok && (outcome.call !== call || outcome.effects.length > 0)) await this.commit(outcome.call, outcome.effects);
  }

  private async commit(call: Call, effects: Effect[]): Promise<void> {
    if (effects.some((effect) => effect.type === "purge")) return this.purge();
    const before = this.call;
    await this.carryOut(before, call, effects, this.persist(call, effects));
  }

  /**
   * Writes the call with its notices, (for any decision the participants could see, not a socket
   * count change) its snapshot for their lines, and the alarm for its next deadline: one turn,
   * one transaction, so none is ever stored without the others, and nothing written later holds
   * back what the room then sends. Returns the alarm's write, to be awaited.
   */
  private persist(call: Call, effects: Effect[]): Promise<void> {
    const notices = noticesOf(effects);
    this.ctx.storage.kv.put("call", call);
    if (notices.length > 0) this.notices.add(notices, Date.now());
    if (effects.length > 0) this.lineUpdates.add(lineCall(call), Date.now());
    this.call = call;
    return this.clock.arm();
  }

  /**
   * Carries out a persisted decision (`before` is the call as it was): the lines hear of it first,
   * then the notifier, in the background (whoever caused it is answered without waiting for them;
   * the outboxes keep what they have not taken, and the alarm retries it); the operator's
   * counters are told; then the alarm's write is awaited and the sockets in the room are told.
   */
  private async carryOut(before: Call | undefined, call: Call, effects: Effect[], armed: Promise<void>): Promise<void> {
    const lines = effects.length > 0 ? this.flushLines() : Promise.resolve();
    if (noticesOf(effects).length > 0) void lines.then(() => this.flushNotices());
    recordCallChange(this.env, before, call);
    await armed;
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
      else if (effect.type === "release-held") this.relay.releaseHeld(call, effect.userId);
    }
  }

  /**
   * A new call rung while the limiter is asked: its lines hear of it now, its devices once the
   * limiter has let it through (every flush of its notices waits for {@link admit} until then).
   */
  private async ringFirst(call: Call, effects: Effect[], armed: Promise<void>, limit: Promise<ApiError | undefined>): Promise<RoomResult<CallView>> {
    const admitted = limit.then((refusal) => this.admit(refusal));
    await this.carryOut(undefined, call, effects, armed);
    return admitted;
  }

  /** A new call told to nobody until the limiter has let it through; refused, it goes as if it had never been. */
  private async askFirst(call: Call, effects: Effect[], armed: Promise<void>, limit: Promise<ApiError | undefined>): Promise<RoomResult<CallView>> {
    const refusal = await limit;
    if (refusal) {
      this.call = undefined;
      await armed;
      await this.ctx.storage.deleteAll();
      return rateLimited(refusal);
    }
    this.ctx.storage.kv.delete(UNADMITTED);
    await this.carryOut(undefined, call, effects, armed);
    return { ok: true, value: publicView(call) };
  }

  /**
   * A create's admission, known to the room while it runs: pushes wait for it (flushNotices), and
   * so does an alarm that comes first (a ring of a second), so neither acts on a call undecided.
   */
  private async whileAdmitting(admission: Promise<RoomResult<CallView>>): Promise<RoomResult<CallView>> {
    this.admitting = admission;
    try {
      return await admission;
    } finally {
      if (this.admitting === admission) this.admitting = undefined;
    }
  }

  /**
   * The limiter has answered for a call rung first. Let through, or answered meanwhile (it
   * stands, marked `overLimit` so the Worker remembers the refusal), its notices go. Refused, no
   * device ever hears of it: its notices are dropped unsent; a call still ringing is withdrawn (it
   * ends `cancelled`, and its lines and sockets hear so), one that ended meanwhile has nothing
   * left to tell.
   */
  private async admit(refusal: ApiError | undefined): Promise<RoomResult<CallView>> {
    this.ctx.storage.kv.delete(UNADMITTED);
    const call = this.load()!;
    if (!refusal || call.state === "active") {
      void this.flushNotices();
      return { ok: true, value: publicView(call), ...(refusal ? { overLimit: true as const } : {}) };
    }
    this.notices.clear();
    if (call.state === "ringing") {
      const outcome = transition(call, { type: "end", userId: call.caller }, Date.now(), callsConfig(this.env));
      if (!outcome.ok) throw new Error(`a ringing call could not be withdrawn: ${outcome.message}`);
      await this.commit(outcome.call, outcome.effects.filter((effect) => effect.type !== "notify"));
    } else await this.rearm();
    return rateLimited(refusal);
  }

  /** The call ended longer ago than the retention period: everything goes. */
  private async purge(): Promise<void> {
    for (const ws of this.openSockets()) this.closeSocket(ws, CLOSE.normal, "call ended", "call-ended");
    this.call = undefined;
    this.notices.discard();
    this.lineUpdates.discard();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /** After a flush: the alarm moves if what waits changed it (an entry refused, an outbox emptied). */
  private async rearm(): Promise<void> {
    if (this.call) await this.clock.rearm();
  }

  private async flushNotices(): Promise<void> {
    // However the admission went (a failure there is the create's to report), it is over.
    await this.admitting?.catch(() => undefined);
    // Still not admitted: its create is gone with an earlier instance; the alarm decides (above).
    if (this.ctx.storage.kv.get(UNADMITTED)) return;
    await this.notices.flush((notices) => this.ports.notifier.notify(notices), () => this.rearm(), { callId: this.call?.callId });
    await this.rearm();
  }

  private flushLines(): Promise<void> {
    // A call asked first is told to its lines only once let through (create, alarm).
    if (this.ctx.storage.kv.get(UNADMITTED) === "ask-first") return Promise.resolve();
    return this.lineUpdates
      .flush(
        async (call) => {
          await Promise.all(call.callees.map((userId) => this.ports.lines.record(userId, call)));
          await this.ports.lines.record(call.caller, call);
        },
        () => this.rearm(),
        { callId: this.call?.callId },
      )
      .then(() => this.rearm());
  }

  // ── The room's sockets ───────────────────────────────────────────────────────────────────

  /** Closes the sockets of users who are out of the call and drops their frames. */
  private dismiss(userIds: string[], reason: "declined" | "answered-elsewhere"): void {
    for (const userId of userIds) {
      this.pending.forget(userId);
      for (const ws of this.ctx.getWebSockets(`u:${userId}`)) {
        if (isOpen(ws) && !this.attachmentOf(ws).leaving) this.closeSocket(ws, CLOSE.normal, OUT_OF_CALL[reason], reason);
      }
    }
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

/** Key of a new call whose limiter has not answered yet: its {@link Admission}. */
const UNADMITTED = "unadmitted";

const rateLimited = (refusal: ApiError): RoomResult<never> => ({
  ok: false,
  code: "rate_limited",
  message: refusal.message,
  ...(refusal.headers ? { headers: refusal.headers } : {}),
});

const participantOf = ({ userId, connectionId }: Participant): Participant => ({ userId, connectionId });
const send = (ws: WebSocket, frame: ServerFrame) => ws.send(JSON.stringify(frame));
const noticesOf = (effects: Effect[]): CallNotice[] =>
  effects.flatMap((effect) => (effect.type === "notify" && effect.notice.recipients.length > 0 ? [effect.notice] : []));
