import { callReport, latestWithPair, type CallReport, type ReportTrigger, type StatsEntry } from "./call-report.js";
import { ICE_REFETCH_WAIT_MS, iceRefreshDelayMs, iceRestartDelayMs, isFromPeer, nextRinging, onRemoteDescription, reconnectDelayMs, shouldOffer, shouldRefetchIceServers } from "./negotiation.js";
import type { CallState, CallUpdate, ClientFrame, IncomingCall, JsonValue, LineServerFrame, Participant, ServerFrame } from "./protocol.js";

export type * from "./protocol.js";
export type { CallReport };

export { iceRefreshDelayMs, iceRestartDelayMs, isFromPeer, nextRinging, onRemoteDescription, reconnectDelayMs, shouldOffer, shouldRefetchIceServers } from "./negotiation.js";
export { disableWebPush, enableWebPush, type PushApi, type WebPushDevice, type WebPushOptions } from "./push.js";

/**
 * SecureConnect Edge client: places and answers calls through the service's REST API and
 * signaling socket (`signal.v1`), and runs the WebRTC side with perfect negotiation, trickle
 * ICE, ICE restart on failure, socket reconnects with back-off, and ICE credential refresh.
 * No framework, no dependencies.
 *
 * @example
 * const client = new SecureConnect({ baseUrl: "https://edge.example.com", token: () => jwt });
 * const call = await client.call(["bob"], { media: "video", stream: await navigator.mediaDevices.getUserMedia({ video: true, audio: true }) });
 * call.on("track", (stream) => (remoteVideo.srcObject = stream));
 * call.on("state", (state) => console.log(state));
 */
export interface ClientOptions {
  /** Where the service is, e.g. https://edge.example.com (no trailing slash needed). */
  baseUrl: string;
  /** The bearer JWT, fetched again whenever the client needs it. */
  token: () => string | Promise<string>;
  /** Extra RTCConfiguration fields (e.g. `iceTransportPolicy: "relay"`). */
  rtcConfiguration?: RTCConfiguration;
}

export type ConnectionState = RTCPeerConnectionState;

export interface CallErrorInfo {
  /** `turn_unauthorized` (TURN refused the credential), `signaling`, `api`, `negotiation`. */
  code: "turn_unauthorized" | "signaling" | "api" | "negotiation";
  message: string;
}

interface CallEvents {
  state: (state: CallState, reason?: string) => void;
  connection: (state: ConnectionState) => void;
  track: (stream: MediaStream, track: MediaStreamTrack) => void;
  "participant-joined": (participant: Participant) => void;
  "participant-left": (participant: Participant, reason: string) => void;
  message: (data: JsonValue, from: Participant) => void;
  error: (error: CallErrorInfo) => void;
  /** A call report the SDK sent to the service (first connected, failed, hang-up). */
  report: (report: CallReport) => void;
}

/** The line's socket: `open` once its `welcome` has made {@link Line.ringing} current. */
export type LineState = "connecting" | "open" | "closed";

interface LineEvents {
  /** A call started ringing for the user (also one already ringing when the line first opens). */
  incoming: (call: IncomingCall) => void;
  /** {@link Line.ringing} changed: render the incoming-call prompts from this. */
  ringing: (calls: IncomingCall[]) => void;
  /** What became of a call the user takes part in, incoming or outgoing (the server's frame). */
  "call-update": (update: CallUpdate) => void;
  connection: (state: LineState) => void;
  error: (error: CallErrorInfo) => void;
}

type Listener = (...args: never[]) => void;

/** Typed `on` and `emit`, shared by Call and Line. */
class Emitter<Events extends { [K in keyof Events]: Listener }> {
  private readonly listeners = new Map<keyof Events, Listener[]>();

  on<K extends keyof Events>(event: K, listener: Events[K]): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as unknown as (...a: Parameters<Events[K]>) => void)(...args);
  }
}

interface IceServers {
  iceServers: RTCIceServer[];
  expiresAt: string;
  /** The region of the primary TURN pool, reported with the call's figures. */
  region?: string;
}

/** Thrown for an API error, with the service's `{error: {code, message}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class SecureConnect {
  private readonly baseUrl: string;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
  }

  /** Rings `callees` and connects as the caller (impolite peer). */
  async call(callees: string[], options: { media?: "audio" | "video"; stream?: MediaStream; metadata?: Record<string, string | number | boolean> } = {}): Promise<Call> {
    const created = await this.request<{ callId: string; wsPath: string; iceServers: RTCIceServer[]; expiresAt: string; ringsUntil: string; region: string }>("POST", "/v1/calls", {
      callees,
      media: options.media ?? "video",
      ...(options.metadata ? { metadata: options.metadata } : {}),
    });
    const call = new Call(this, created.callId, created.wsPath, "caller", options.stream);
    call.ringsUntil = created.ringsUntil;
    call.start({ iceServers: created.iceServers, expiresAt: created.expiresAt, region: created.region });
    return call;
  }

  /** Joins a call as a callee (polite peer); `accept()` answers it. */
  async join(callId: string, options: { stream?: MediaStream } = {}): Promise<Call> {
    const ice = await this.iceServers();
    const call = new Call(this, callId, `/v1/calls/${encodeURIComponent(callId)}/ws`, "callee", options.stream);
    call.start(ice);
    return call;
  }

  /**
   * Opens the user's line (`GET /v1/me/ws`): the calls ringing for them, in every tab and device
   * that listens, and what becomes of each. Answer one with `join(callId)` then `accept()`.
   *
   * @example
   * const line = client.listen();
   * line.on("incoming", (incoming) => showPrompt(incoming));                       // caller, media, metadata
   * line.on("ringing", (calls) => hidePromptsExcept(calls.map((c) => c.callId))); // answered, declined, gone
   */
  listen(): Line {
    return new Line(this);
  }

  /** Declines a ringing call (callee) without joining it. */
  async decline(callId: string): Promise<void> {
    await this.request("POST", `/v1/calls/${encodeURIComponent(callId)}/decline`);
  }

  /** Fresh ICE servers and TURN credential. */
  async iceServers(): Promise<IceServers> {
    return this.request<IceServers>("GET", "/v1/calls/ice-servers");
  }

  /**
   * An authenticated request to the service's API (what `enableWebPush` uses): the JSON answer, or
   * an {@link ApiError} with the service's code and message. `keepalive`: the request outlives the
   * page (a report sent at hang-up or unload).
   */
  async request<T>(method: string, path: string, body?: unknown, options: { keepalive?: boolean } = {}): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(options.keepalive ? { keepalive: true } : {}),
      headers: { authorization: `Bearer ${await this.options.token()}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const payload = (await response.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
    if (!response.ok) throw new ApiError(response.status, payload.error?.code ?? "unknown", payload.error?.message ?? response.statusText);
    return payload;
  }

  /** @internal */
  async socketUrl(wsPath: string): Promise<{ url: string; protocols: string[] }> {
    const url = new URL(wsPath, this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return { url: url.toString(), protocols: ["signal.v1", `bearer.${await this.options.token()}`] };
  }

  /** @internal */
  get rtcConfiguration(): RTCConfiguration {
    return this.options.rtcConfiguration ?? {};
  }
}

/** The room closes a user's older socket with this code when the user connects again. */
const REPLACED = 4001;

/** One call: its signaling socket and its RTCPeerConnection. */
export class Call extends Emitter<CallEvents> {
  state: CallState = "ringing";
  readonly pc: RTCPeerConnection;
  you?: Participant;
  /** The user on the other side of the peer connection: the caller, or the callee who answered. */
  peer?: string;
  /** When a ringing call ends as missed (ISO 8601), on the caller's side; a callee has it from the line's `IncomingCall`. */
  ringsUntil?: string;
  private ws?: WebSocket;
  private readonly polite: boolean;
  private makingOffer = false;
  private ignoreOffer = false;
  private isSettingRemoteAnswerPending = false;
  // Frames are handled one at a time, in arrival order (setRemoteDescription is async).
  private inbox: Promise<void> = Promise.resolve();
  private reconnects = 0;
  private closed = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  // Frames produced while the socket is (re)connecting, sent in order once it is open.
  private outbox: ClientFrame[] = [];
  // The fresh ICE list a broken connection asked for, which its ICE restart waits for.
  private iceRefetch?: Promise<void>;
  private iceRefetchAt?: number;
  // What the call reports (call-report.ts): each trigger once.
  private readonly measured: { region?: string; activeAt?: number; connectedAt?: number; failed: boolean; iceRestarts: number; sent: Set<ReportTrigger>; lastStats: StatsEntry[] } = {
    failed: false,
    iceRestarts: 0,
    sent: new Set(),
    lastStats: [],
  };

  constructor(
    private readonly client: SecureConnect,
    readonly callId: string,
    private readonly wsPath: string,
    readonly role: "caller" | "callee",
    private readonly stream?: MediaStream,
  ) {
    super();
    this.polite = role === "callee";
    this.pc = new RTCPeerConnection(client.rtcConfiguration);
  }

  /** Answers the call (callee). */
  accept(): void {
    this.send({ type: "accept" });
  }

  /** Declines the call (callee). */
  decline(): void {
    this.send({ type: "decline" });
  }

  /** Ends the call for everyone, or cancels it while it rings (caller). */
  hangup(): void {
    this.send({ type: "hangup" });
  }

  /** App data to the other side (mute state, chat...). */
  sendMessage(data: JsonValue): void {
    this.send({ type: "message", data });
  }

  /** The selected ICE candidate pair: which path the media takes (host, srflx, relay). */
  async selectedPair(): Promise<{ local: { type: string; protocol: string; relayProtocol?: string }; remote: { type: string } } | undefined> {
    const stats = await this.pc.getStats();
    let pair: RTCIceCandidatePairStats | undefined;
    stats.forEach((report) => {
      if (report.type === "transport" && report.selectedCandidatePairId) pair = stats.get(report.selectedCandidatePairId);
    });
    if (!pair) return undefined;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return {
      local: { type: local?.candidateType, protocol: local?.protocol, ...(local?.relayProtocol ? { relayProtocol: local.relayProtocol } : {}) },
      remote: { type: remote?.candidateType },
    };
  }

  /** Leaves: closes the peer connection (freeing TURN allocations) and the socket. */
  close(): void {
    // The stats are asked for before the peer connection closes; the report goes out after.
    if (this.measured.activeAt !== undefined && !this.closed) this.report("hangup");
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.pc.close();
    this.ws?.close(1000, "bye");
  }

  /** @internal */
  start(ice: IceServers): void {
    this.pc.setConfiguration({ ...this.client.rtcConfiguration, iceServers: ice.iceServers });
    this.measured.region = ice.region;
    this.scheduleIceRefresh(ice.expiresAt);
    this.pc.onnegotiationneeded = async () => {
      if (!shouldOffer(this.polite, this.pc.remoteDescription !== null)) return;
      try {
        this.makingOffer = true;
        await this.pc.setLocalDescription();
        const description = this.pc.localDescription!;
        // An offer, or the answer to an offer that arrived meanwhile.
        this.send({ type: description.type === "answer" ? "answer" : "offer", sdp: description.sdp });
      } catch (error) {
        this.emit("error", { code: "negotiation", message: String(error) });
      } finally {
        this.makingOffer = false;
      }
    };
    this.pc.onicecandidate = ({ candidate }) => this.send({ type: "candidate", candidate: candidate ? candidate.toJSON() : null });
    this.pc.onicecandidateerror = (event) => {
      const { errorCode, errorText, url } = event as RTCPeerConnectionIceErrorEvent;
      if (errorCode === 401) this.emit("error", { code: "turn_unauthorized", message: `TURN server ${url} refused the credential (401 ${errorText})` });
    };
    this.pc.ontrack = ({ track, streams }) => this.emit("track", streams[0] ?? new MediaStream([track]), track);
    this.pc.onconnectionstatechange = () => {
      this.emit("connection", this.pc.connectionState);
      // A path that broke (network change, NAT rebinding, a dead TURN host): fetch a fresh ICE
      // list now, and look for a new path with it.
      const state = this.pc.connectionState;
      if (state === "failed" || state === "disconnected") {
        this.refetchIceServers();
        this.later(iceRestartDelayMs(this.polite, state), () => void this.restartIfStillBroken());
      }
      if (state === "connected") {
        this.measured.connectedAt ??= Date.now();
        // Connected again (after a restart): the pair may be new; the hang-up report needs it.
        if (this.measured.sent.has("connected")) void this.pc.getStats().then((stats) => (this.measured.lastStats = latestWithPair([...stats.values()] as StatsEntry[], this.measured.lastStats)));
        this.report("connected");
      }
      if (state === "failed") {
        if (this.measured.connectedAt === undefined) this.measured.failed = true;
        this.report("failed");
      }
    };
    for (const track of this.stream?.getTracks() ?? []) this.pc.addTrack(track, this.stream!);
    // Without local media there is still a connection to make (receive-only, or data only).
    if (!this.stream) this.pc.createDataChannel("secureconnect");
    void this.connect();
  }

  private async restartIfStillBroken(): Promise<void> {
    await Promise.race([this.iceRefetch, new Promise((done) => setTimeout(done, ICE_REFETCH_WAIT_MS))]);
    // It may have recovered, or the other side's restart may be under way.
    const state = this.pc.connectionState;
    if (!this.closed && (state === "failed" || state === "disconnected") && this.pc.signalingState === "stable") {
      this.measured.iceRestarts++;
      this.pc.restartIce();
    }
  }

  private refetchIceServers(): void {
    if (!shouldRefetchIceServers(this.iceRefetchAt, Date.now())) return;
    this.iceRefetchAt = Date.now();
    this.iceRefetch = this.client.iceServers().then(
      (ice) => {
        if (!this.closed) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: ice.iceServers });
      },
      (error: unknown) => this.emit("error", { code: "api", message: `could not fetch fresh ICE servers: ${String(error)}` }),
    );
  }

  /** Sends this trigger's report once (fire-and-forget; a failure is an `error` event, never thrown). */
  private report(trigger: ReportTrigger): void {
    const { sent, lastStats, ...context } = this.measured;
    if (sent.has(trigger)) return;
    sent.add(trigger);
    const stats = this.pc.getStats();
    void (async () => {
      try {
        const entries = latestWithPair([...(await stats).values()] as StatsEntry[], lastStats);
        this.measured.lastStats = entries;
        const report = callReport(entries, { trigger, connected: context.connectedAt !== undefined, ...context });
        await this.client.request("POST", `/v1/calls/${encodeURIComponent(this.callId)}/report`, report, { keepalive: true });
        this.emit("report", report);
      } catch (error) {
        this.emit("error", { code: "api", message: `could not send the call report: ${String(error)}` });
      }
    })();
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) run();
    }, ms);
    this.timers.add(timer);
  }

  private async connect(): Promise<void> {
    let socket: { url: string; protocols: string[] };
    try {
      socket = await this.client.socketUrl(this.wsPath);
    } catch (error) {
      // The app's token() failed (offline, signed out): say so and try again with back-off.
      this.emit("error", { code: "signaling", message: `could not get a token to connect: ${String(error)}` });
      this.later(reconnectDelayMs(this.reconnects++), () => void this.connect());
      return;
    }
    if (this.closed) return;
    const ws = new WebSocket(socket.url, socket.protocols);
    this.ws = ws;
    ws.onopen = () => {
      this.reconnects = 0;
      for (const frame of this.outbox.splice(0)) ws.send(JSON.stringify(frame));
    };
    ws.onmessage = (event) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data as string) as ServerFrame;
      } catch {
        this.emit("error", { code: "signaling", message: "the server sent a frame that is not JSON" });
        return;
      }
      this.inbox = this.inbox.then(() => this.handle(frame)).catch((error: unknown) => this.emit("error", { code: "negotiation", message: String(error) }));
    };
    ws.onclose = (event) => {
      if (ws !== this.ws || this.closed || this.state === "ended") return;
      if (event.code === REPLACED) {
        // The same user joined the call from another device or tab: that one has the call now.
        this.emit("error", { code: "signaling", message: "replaced by a newer connection of the same user" });
        return;
      }
      if (event.code === 1008 || event.code === 1009) {
        // The room closed us for breaking a limit (frame rate, frame size): reconnecting would repeat it.
        this.emit("error", { code: "signaling", message: `closed by the server (${event.code} ${event.reason})` });
        return;
      }
      if (event.code === 1000) {
        // A callee who declined, or whose call another callee answered, is out of the call.
        if (event.reason === "another callee answered this call") this.setState("ended", "answered-elsewhere");
        else if (event.reason === "you declined this call") this.setState("ended", "declined");
        return;
      }
      // Dropped: come back with back-off; the room keeps our place and our waiting frames.
      this.later(reconnectDelayMs(this.reconnects++), () => void this.connect());
    };
  }

  private async handle(frame: ServerFrame): Promise<void> {
    switch (frame.type) {
      case "welcome":
        this.you = frame.you;
        this.peer = this.role === "callee" ? frame.caller : frame.answeredBy;
        this.setState(frame.state, frame.reason);
        return;
      case "state":
        if (this.role === "caller" && frame.answeredBy !== undefined) this.peer = frame.answeredBy;
        this.setState(frame.state, frame.reason);
        return;
      case "participant-joined":
        this.emit("participant-joined", frame.participant);
        return;
      case "participant-left":
        this.emit("participant-left", frame.participant, frame.reason);
        return;
      case "offer":
      case "answer": {
        // Only the other side may drive our peer connection; anyone else in the room is ignored.
        if (!isFromPeer(frame.from.userId, this.peer)) return;
        const decision = onRemoteDescription(frame.type, this.polite, {
          makingOffer: this.makingOffer,
          isSettingRemoteAnswerPending: this.isSettingRemoteAnswerPending,
          signalingState: this.pc.signalingState,
        });
        this.ignoreOffer = decision === "ignore";
        if (this.ignoreOffer) return;
        this.isSettingRemoteAnswerPending = frame.type === "answer";
        await this.pc.setRemoteDescription({ type: frame.type, sdp: frame.sdp });
        this.isSettingRemoteAnswerPending = false;
        if (frame.type === "offer") {
          await this.pc.setLocalDescription();
          this.send({ type: "answer", sdp: this.pc.localDescription!.sdp });
        }
        return;
      }
      case "candidate":
        if (!isFromPeer(frame.from.userId, this.peer)) return;
        try {
          await this.pc.addIceCandidate(frame.candidate ?? undefined);
        } catch (error) {
          if (!this.ignoreOffer) throw error;
        }
        return;
      case "message":
        this.emit("message", frame.data, frame.from);
        return;
      case "error":
        this.emit("error", { code: "signaling", message: `${frame.code}: ${frame.message}` });
        return;
      case "pong":
        return;
      default: {
        // A frame type this SDK does not know yet (a newer server): ignored, as the protocol allows.
        const _unknown: never = frame;
        return;
      }
    }
  }

  private setState(state: CallState, reason?: string): void {
    if (state === this.state && state !== "ringing") return;
    this.state = state;
    if (state === "active") this.measured.activeAt ??= Date.now();
    this.emit("state", state, reason);
    if (state === "ended") this.close();
  }

  private scheduleIceRefresh(expiresAt: string): void {
    this.later(iceRefreshDelayMs(expiresAt, Date.now()), async () => {
      try {
        const ice = await this.client.iceServers();
        this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: ice.iceServers });
        this.scheduleIceRefresh(ice.expiresAt);
      } catch (error) {
        this.emit("error", { code: "api", message: `could not refresh ICE servers: ${String(error)}` });
        // Try again while the current credential is still good (each try sooner than the last).
        if (Date.parse(expiresAt) > Date.now()) this.scheduleIceRefresh(expiresAt);
      }
    });
  }

  private send(frame: ClientFrame): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
    else this.outbox.push(frame);
  }
}

/**
 * How often the line pings: under the idle timeouts of NATs and proxies (often 60 s). A ping
 * still unanswered at the next one means the socket is dead (no close ever came): it is
 * dropped and the line reconnects.
 */
const LINE_PING_MS = 30_000;

/**
 * The user's line: one socket that stays open (reconnecting with back-off when dropped, with a
 * fresh token each time) and keeps {@link ringing} current. A `welcome` after a reconnect is
 * the whole list: a call that stopped ringing meanwhile leaves `ringing` (a `ringing` event,
 * no `call-update`, since what became of it is not known), a new one is announced with
 * `incoming`.
 */
export class Line extends Emitter<LineEvents> {
  /** The calls ringing for the user now, by call id. */
  ringing: ReadonlyMap<string, IncomingCall> = new Map();
  /** The user the line belongs to, from the server's `welcome`. */
  userId?: string;
  state: LineState = "connecting";
  private ws?: WebSocket;
  private reconnects = 0;
  private closed = false;
  private retry?: ReturnType<typeof setTimeout>;
  private pinger?: ReturnType<typeof setInterval>;

  constructor(private readonly client: SecureConnect) {
    super();
    void this.connect();
  }

  /** Stops listening: closes the socket for good. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.drop(1000);
  }

  private async connect(): Promise<void> {
    this.setState("connecting");
    let socket: { url: string; protocols: string[] };
    try {
      socket = await this.client.socketUrl("/v1/me/ws");
    } catch (error) {
      this.emit("error", { code: "signaling", message: `could not get a token to connect: ${String(error)}` });
      return this.reconnect();
    }
    if (this.closed) return;
    const ws = (this.ws = new WebSocket(socket.url, socket.protocols));
    let heard = true;
    ws.onopen = () => {
      this.pinger = setInterval(() => {
        if (!heard) return this.lost(ws);
        heard = false;
        ws.send('{"type":"ping"}');
      }, LINE_PING_MS);
    };
    ws.onmessage = (event) => {
      heard = true;
      try {
        this.handle(JSON.parse(event.data as string) as LineServerFrame);
      } catch (error) {
        this.emit("error", { code: "signaling", message: `could not handle a line frame: ${String(error)}` });
      }
    };
    ws.onclose = (event) => {
      // 1008, 1009: closed for breaking a limit; reconnecting would repeat it.
      if (event.code !== 1008 && event.code !== 1009) return this.lost(ws);
      if (ws !== this.ws) return;
      this.drop();
      this.emit("error", { code: "signaling", message: `line closed by the server (${event.code} ${event.reason})` });
    };
  }

  /** The socket dropped or went silent; a browser cannot tell a refused upgrade (401, 429) from that. */
  private lost(ws: WebSocket): void {
    if (ws !== this.ws || this.closed) return;
    this.drop();
    this.reconnect();
  }

  private reconnect(): void {
    if (!this.closed) this.retry = setTimeout(() => void this.connect(), reconnectDelayMs(this.reconnects++));
  }

  private drop(code?: number): void {
    clearInterval(this.pinger);
    this.ws?.close(code);
    this.ws = undefined;
    this.setState("closed");
  }

  private handle(frame: LineServerFrame): void {
    const change = nextRinging(this.ringing, frame);
    this.ringing = change.ringing;
    switch (frame.type) {
      case "welcome":
        this.userId = frame.userId;
        // Back-off starts again only once the server took us, not at every open.
        this.reconnects = 0;
        this.setState("open");
        break;
      case "call-update":
        this.emit("call-update", frame.call);
        break;
      case "error":
        this.emit("error", { code: "signaling", message: `${frame.code}: ${frame.message}` });
        break;
      case "incoming-call":
      case "pong":
        break;
      default: {
        // A frame type this SDK does not know yet (a newer server): ignored.
        const _unknown: never = frame;
      }
    }
    for (const call of change.added) this.emit("incoming", call);
    if (change.added.length || change.removed.length) this.emit("ringing", [...this.ringing.values()]);
  }

  private setState(state: LineState): void {
    if (state === this.state) return;
    this.state = state;
    this.emit("connection", state);
  }
}
