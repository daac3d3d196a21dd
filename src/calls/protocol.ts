import { z } from "zod";

/**
 * The signaling protocol (`signal.v1`, contract section 4.2) as zod schemas: the single source
 * of truth for what a client may send and what the room sends back. docs/signaling.md describes
 * it for client authors.
 */
export const SUBPROTOCOL = "signal.v1";
export const BEARER_PREFIX = "bearer.";

/** A connection id: server-made, opaque, 16 url-safe characters. */
const ConnectionId = z.string().regex(/^[A-Za-z0-9_-]{16}$/, "must be a connection id");

// An SDP is a few KiB; the frame-size limit (SIGNAL_MAX_FRAME_BYTES) bounds it further.
const Sdp = z.string().min(1, "must not be empty");

// RTCIceCandidateInit: every member optional (`{}` or `candidate: ""` ends a generation's candidates).
const IceCandidate = z
  .object({
    candidate: z.string().optional(),
    sdpMid: z.string().nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).nullable().optional(),
    usernameFragment: z.string().nullable().optional(),
  })
  .strict();

/** Frames a client sends. `to` addresses one connection; without it, everyone else in the call. */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("offer"), sdp: Sdp, to: ConnectionId.optional() }).strict(),
  z.object({ type: z.literal("answer"), sdp: Sdp, to: ConnectionId.optional() }).strict(),
  // `null` is the end-of-candidates signal.
  z.object({ type: z.literal("candidate"), candidate: IceCandidate.nullable(), to: ConnectionId.optional() }).strict(),
  z.object({ type: z.literal("message"), data: z.json(), to: ConnectionId.optional() }).strict(),
  z.object({ type: z.literal("accept") }).strict(),
  z.object({ type: z.literal("decline") }).strict(),
  z.object({ type: z.literal("hangup") }).strict(),
  z.object({ type: z.literal("ping") }).strict(),
]);

export type ClientFrame = z.output<typeof ClientFrameSchema>;
export type RelayedFrame = Extract<ClientFrame, { type: "offer" | "answer" | "candidate" | "message" }>;

export interface Participant {
  userId: string;
  connectionId: string;
}

/** Frames the room sends. Relayed frames are the client's frame plus a server-stamped `from`. */
export type ServerFrame =
  | {
      type: "welcome";
      callId: string;
      you: Participant;
      state: string;
      reason?: string;
      participants: Participant[];
    }
  | { type: "participant-joined"; participant: Participant }
  | { type: "participant-left"; participant: Participant; reason: LeaveReason }
  | { type: "state"; state: string; reason?: string }
  | (Omit<RelayedFrame, "to"> & { from: Participant })
  | { type: "error"; code: FrameErrorCode; message: string }
  | { type: "pong" };

export type LeaveReason = "closed" | "replaced" | "call-ended" | "kicked";

export type FrameErrorCode =
  | "invalid_frame"
  | "unknown_recipient"
  | "recipient_queue_full"
  | "rate_limited"
  | "conflict"
  | "forbidden"
  | "call_ended";

/** Parses one text frame; the error says what is wrong in words a client author can act on. */
export function parseClientFrame(text: string): { ok: true; frame: ClientFrame } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: "frame is not valid JSON" };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return { ok: false, message: "frame must be a JSON object" };
  if (!("type" in json)) return { ok: false, message: "frame has no type" };
  // `from` is the server's to stamp: a client's own `from` is ignored, never trusted or relayed.
  const { from: _ignored, ...frame } = json as Record<string, unknown>;
  const result = ClientFrameSchema.safeParse(frame);
  if (result.success) return { ok: true, frame: result.data };
  const issue = result.error.issues[0]!;
  const path = issue.path.join(".");
  if (issue.code === "invalid_union" && path === "type") return { ok: false, message: `unknown frame type ${JSON.stringify(frame.type)}` };
  return { ok: false, message: path ? `${path}: ${issue.message}` : issue.message };
}

/**
 * The JWT offered as the `bearer.<JWT>` subprotocol next to `signal.v1` (browsers cannot set an
 * Authorization header on a WebSocket). Undefined when not offered that way.
 */
export function subprotocolToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const offered = header.split(",").map((value) => value.trim());
  if (!offered.includes(SUBPROTOCOL)) return undefined;
  return offered.find((value) => value.startsWith(BEARER_PREFIX))?.slice(BEARER_PREFIX.length);
}
