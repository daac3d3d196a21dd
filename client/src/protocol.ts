/**
 * The wire types of the call socket (`signal.v1`) and of the user's line (`GET /v1/me/ws`),
 * exactly as the service sends and accepts them. The protocol in full: docs/signaling.md in the
 * SecureConnect Edge repository.
 */

/** A call's state. */
export type CallState = "ringing" | "active" | "ended";

/** Why a call ended. */
export type EndReason = "hangup" | "declined" | "cancelled" | "missed" | "failed";

/** Any JSON value: the app data a `message` frame carries. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One socket in the call: who it is, and the connection id that frames are addressed to. */
export interface Participant {
  userId: string;
  connectionId: string;
}

/**
 * Why a socket left: closed by its client, replaced by the same user's newer socket, the call
 * ended, kicked for breaking a limit, or its callee is out of the call (declined; another callee
 * answered).
 */
export type LeaveReason = "closed" | "replaced" | "call-ended" | "kicked" | "declined" | "answered-elsewhere";

/** The `code` of an `error` frame. */
export type FrameErrorCode = "invalid_frame" | "unknown_recipient" | "recipient_queue_full" | "rate_limited" | "conflict" | "forbidden" | "call_ended" | "internal";

/** RTCIceCandidateInit as it travels: every member optional. */
export interface IceCandidateInit {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** Frames a client sends. `to` addresses one connection; without it, everyone else in the call. */
export type ClientFrame =
  | { type: "offer"; sdp: string; to?: string }
  | { type: "answer"; sdp: string; to?: string }
  /** `candidate: null` ends the candidates. */
  | { type: "candidate"; candidate: IceCandidateInit | null; to?: string }
  | { type: "message"; data: JsonValue; to?: string }
  | { type: "accept" }
  | { type: "decline" }
  | { type: "hangup" }
  | { type: "ping" };

/** Frames the call's room sends. Relayed frames carry `from`, stamped by the server. */
export type ServerFrame =
  | {
      type: "welcome";
      callId: string;
      you: Participant;
      state: CallState;
      reason?: EndReason;
      /** The others connected now. */
      participants: Participant[];
      /** Who placed the call: a callee's peer. */
      caller?: string;
      /** Who answered, once someone has: the caller's peer. */
      answeredBy?: string;
    }
  | { type: "participant-joined"; participant: Participant }
  | { type: "participant-left"; participant: Participant; reason: LeaveReason }
  | { type: "state"; state: CallState; reason?: EndReason; answeredBy?: string }
  | { type: "offer"; sdp: string; from: Participant }
  | { type: "answer"; sdp: string; from: Participant }
  | { type: "candidate"; candidate: IceCandidateInit | null; from: Participant }
  | { type: "message"; data: JsonValue; from: Participant }
  | { type: "error"; code: FrameErrorCode; message: string }
  | { type: "pong" };

/** A call ringing for the line's user: enough to show it and to join it. Instants are ISO 8601. */
export interface IncomingCall {
  callId: string;
  caller: string;
  callees: string[];
  media: "audio" | "video";
  metadata?: Record<string, string | number | boolean>;
  createdAt: string;
  /** When the call ends as missed if nobody answers. */
  ringsUntil: string;
  /** The call socket's path. */
  wsPath: string;
}

/**
 * What became of a call the user takes part in, incoming or outgoing: answered (`active`, with
 * `answeredBy`: this user on another tab or device, or another callee) or over (`ended`, with
 * `endReason`; the user's own decline is `declined`).
 */
export interface CallUpdate {
  callId: string;
  state: CallState;
  endReason?: EndReason;
  answeredBy?: string;
}

/** Frames a client sends on its line: only `ping`. */
export type LineClientFrame = { type: "ping" };

/** Frames the line sends. `welcome` comes first and lists the calls ringing for the user now. */
export type LineServerFrame =
  | { type: "welcome"; userId: string; calls: IncomingCall[] }
  | { type: "incoming-call"; call: IncomingCall }
  | { type: "call-update"; call: CallUpdate }
  | { type: "pong" }
  | { type: "error"; code: FrameErrorCode; message: string };

/** A candidate's type, as `getStats()` reports it. */
export type CandidateType = "host" | "srflx" | "prflx" | "relay";

/**
 * What a client measured of its own call, sent to `POST /v1/calls/{callId}/report` once per
 * `trigger`: when the connection first connects, when it fails, and at hang-up (the last word:
 * its `outcome` is the call's verdict). The SDK sends it by itself (`call.on("report")` hears it).
 */
export interface CallReport {
  trigger: "connected" | "failed" | "hangup";
  /** The connection so far: it connected at least once, failed without ever connecting, or ended without either. */
  outcome: "connected" | "failed" | "never-connected";
  /** From the call's start on this client to the first `connected`. */
  timeToConnectedMs?: number;
  localCandidateType?: CandidateType;
  remoteCandidateType?: CandidateType;
  /** How the media travels from this client: the relay protocol over TURN, else the candidate's. */
  protocol?: "udp" | "tcp" | "tls";
  /** The local relay candidate's protocol to the TURN server (relay only). */
  relayProtocol?: "udp" | "tcp" | "tls";
  /** The region of the ICE list the client was given (its primary pool). */
  region?: string;
  /** The TURN URL of the selected relay candidate: the service records its pool's region, never the URL. */
  relayUrl?: string;
  roundTripTimeMs?: number;
  /** Inbound RTP packets lost, all streams. */
  packetsLost?: number;
  /** ICE restarts this client made in the call. */
  iceRestarts?: number;
}
