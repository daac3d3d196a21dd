import { z } from "zod";
import { CallStateSchema, EndReasonSchema, FrameErrorCodeSchema } from "./protocol";

/**
 * The line protocol (`GET /v1/me/ws`, subprotocol `signal.v1`) as zod schemas: one socket per
 * tab or device that tells a user which calls ring for them and what becomes of every call they
 * take part in. docs/signaling.md describes it for client authors. The SDK spells out the same
 * types (client/src/protocol.ts; test/client/protocol.test.ts holds them equal).
 */

// The REST API's media and metadata (schemas.ts) without its OpenAPI annotations, which would
// pull @hono/zod-openapi into every importer of this module.
const MediaSchema = z.enum(["audio", "video"]);
const MetadataSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** A call ringing for the line's user: enough to show it and to join it. Instants are ISO 8601. */
export const IncomingCallSchema = z
  .object({
    callId: z.string(),
    caller: z.string(),
    callees: z.array(z.string()),
    media: MediaSchema,
    metadata: MetadataSchema.optional(),
    createdAt: z.string(),
    /** When the call ends as missed if nobody answers. */
    ringsUntil: z.string(),
    /** The call socket's path, as `POST /v1/calls` returns it to the caller. */
    wsPath: z.string(),
  })
  .strict();
export type IncomingCall = z.output<typeof IncomingCallSchema>;

/**
 * What became of a call the user takes part in, incoming or outgoing: answered (`active`, with
 * `answeredBy`: this user on another tab or device, or another callee) or over (`ended`, with
 * `endReason`; the user's own decline is `declined`).
 */
export const CallUpdateSchema = z
  .object({
    callId: z.string(),
    state: CallStateSchema,
    endReason: EndReasonSchema.optional(),
    answeredBy: z.string().optional(),
  })
  .strict();
export type CallUpdate = z.output<typeof CallUpdateSchema>;

/** Frames a client sends on its line: only `ping`; anything else is answered with `error`. */
export const LineClientFrameSchema = z.discriminatedUnion("type", [z.object({ type: z.literal("ping") }).strict()]);
export type LineClientFrame = z.output<typeof LineClientFrameSchema>;

/** Frames the line sends. `welcome` comes first and lists the calls ringing for the user now. */
export const LineServerFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("welcome"), userId: z.string(), calls: z.array(IncomingCallSchema) }).strict(),
  z.object({ type: z.literal("incoming-call"), call: IncomingCallSchema }).strict(),
  z.object({ type: z.literal("call-update"), call: CallUpdateSchema }).strict(),
  z.object({ type: z.literal("pong") }).strict(),
  z.object({ type: z.literal("error"), code: FrameErrorCodeSchema, message: z.string() }).strict(),
]);
export type LineServerFrame = z.output<typeof LineServerFrameSchema>;
