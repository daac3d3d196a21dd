import { z } from "zod";

/**
 * The signaling protocol (`signal.v1`, contract section 4.2) as zod schemas: the single source
 * of truth for what a client may send and what the room sends back. docs/signaling.md describes
 * it for client authors. The SDK spells out the same types (client/src/protocol.ts;
 * test/client/protocol.test.ts fails the typecheck if the two differ).
 */

/** A call's state, as frames and the REST API report it. */
export const CallStateSchema = z.enum(["ringing", "active", "ended"]);
export type CallState = z.output<typeof CallStateSchema>;

/** Why a call ended. */
export const EndReasonSchema = z.enum(["hangup", "declined", "cancelled", "missed", "failed"]);
export type EndReason = z.output<typeof EndReasonSchema>;

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

const To = ConnectionId.optional();
const OfferFrame = z.object({ type: z.literal("offer"), sdp: Sdp, to: To }).strict();
const AnswerFrame = z.object({ type: z.literal("answer"), sdp: Sdp, to: To }).strict();
// `null` is the end-of-candidates signal.
const CandidateFrame = z.object({ type: z.literal("candidate"), candidate: IceCandidate.nullable(), to: To }).strict();
const MessageFrame = z.object({ type: z.literal("message"), data: z.json(), to: To }).strict();

/** Frames a client sends. `to` addresses one connection; without it, everyone else in the call. */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  OfferFrame,
  AnswerFrame,
  CandidateFrame,
  MessageFrame,
  z.object({ type: z.literal("accept") }).strict(),
  z.object({ type: z.literal("decline") }).strict(),
  z.object({ type: z.literal("hangup") }).strict(),
  z.object({ type: z.literal("ping") }).strict(),
]);

export type ClientFrame = z.output<typeof ClientFrameSchema>;
export type RelayedFrame = Extract<ClientFrame, { type: "offer" | "answer" | "candidate" | "message" }>;

/** One socket in the call: who it is, and the connection id frames are addressed to. */
export const ParticipantSchema = z.object({ userId: z.string(), connectionId: ConnectionId }).strict();
export type Participant = z.output<typeof ParticipantSchema>;

/**
 * Why a socket left: closed by its client, replaced by the same user's newer socket, the call
 * ended, kicked for breaking a limit, or its callee is out of the call (declined; another callee
 * answered).
 */
export const LeaveReasonSchema = z.enum(["closed", "replaced", "call-ended", "kicked", "declined", "answered-elsewhere"]);
export type LeaveReason = z.output<typeof LeaveReasonSchema>;

export const FrameErrorCodeSchema = z.enum([
  "invalid_frame",
  "unknown_recipient",
  "recipient_queue_full",
  "rate_limited",
  "conflict",
  "forbidden",
  "call_ended",
  "internal",
]);
export type FrameErrorCode = z.output<typeof FrameErrorCodeSchema>;

// A relayed frame is the client's frame without `to`, with the sender stamped by the server.
const noTo = { to: true } as const;
const from = { from: ParticipantSchema };

/** Frames the room sends. Clients (the SDK) and tests read them through this one schema's type. */
export const ServerFrameSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("welcome"),
      callId: z.string(),
      you: ParticipantSchema,
      state: CallStateSchema,
      reason: EndReasonSchema.optional(),
      participants: z.array(ParticipantSchema),
      /** Who placed the call: a callee's peer. */
      caller: z.string().optional(),
      /** Who answered, once someone has: the caller's peer. */
      answeredBy: z.string().optional(),
    })
    .strict(),
  z.object({ type: z.literal("participant-joined"), participant: ParticipantSchema }).strict(),
  z.object({ type: z.literal("participant-left"), participant: ParticipantSchema, reason: LeaveReasonSchema }).strict(),
  z.object({ type: z.literal("state"), state: CallStateSchema, reason: EndReasonSchema.optional(), answeredBy: z.string().optional() }).strict(),
  OfferFrame.omit(noTo).extend(from),
  AnswerFrame.omit(noTo).extend(from),
  CandidateFrame.omit(noTo).extend(from),
  MessageFrame.omit(noTo).extend(from),
  z.object({ type: z.literal("error"), code: FrameErrorCodeSchema, message: z.string() }).strict(),
  z.object({ type: z.literal("pong") }).strict(),
]);

export type ServerFrame = z.output<typeof ServerFrameSchema>;

/** How deeply a frame's JSON may nest (a `message`'s `data` is the app's; 32 levels is plenty). */
export const MAX_FRAME_DEPTH = 32;

/**
 * The deepest nesting of objects and arrays in JSON `text`, counted without parsing it, so that
 * a frame of ten thousand `[` never reaches a recursive validator or serializer.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (char === 0x5d || char === 0x7d) depth--;
  }
  return deepest;
}

/** Parses one text frame; the error says what is wrong in words a client author can act on. */
export function parseClientFrame(text: string): { ok: true; frame: ClientFrame } | { ok: false; message: string } {
  if (jsonDepth(text) > MAX_FRAME_DEPTH) return { ok: false, message: `frame nests deeper than ${MAX_FRAME_DEPTH} levels` };
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
