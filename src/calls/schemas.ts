import { z } from "@hono/zod-openapi";
import { UserIdSchema } from "../platform/ids";
import { IceServerSchema } from "../turn/credentials";
import { CallStateSchema, EndReasonSchema } from "./protocol";

/**
 * The calls REST API's wire shapes (contract section 4.1): each one validates, types and
 * documents its route, and the state machine's types come from them.
 */
export const MediaSchema = z.enum(["audio", "video"]);
export type Media = z.output<typeof MediaSchema>;

export const MetadataSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "keys are letters, digits, _ . -"), z.union([z.string(), z.number(), z.boolean()]))
  .refine((value) => JSON.stringify(value).length <= 1024, "must be at most 1024 bytes as JSON")
  .openapi({ description: "Small app data carried to the callees (e.g. display name); at most 1 KiB.", example: { displayName: "Alice" } });
export type Metadata = z.output<typeof MetadataSchema>;

const MAX_CALLEES = 32;

export const CreateCallSchema = z
  .object({
    // A group ring may reach more people than may connect at once (SIGNAL_MAX_CONNECTIONS).
    callees: z.array(UserIdSchema).min(1).max(MAX_CALLEES).openapi({ example: ["user-b"] }),
    media: MediaSchema,
    metadata: MetadataSchema.optional(),
  })
  .strict()
  .openapi("CreateCall");

/** A call as the REST API shows it, instants as ISO 8601. */
export const CallViewSchema = z
  .object({
    callId: z.string().openapi({ example: "q3V8c1mZk0Qv9oYx2bLwTg" }),
    state: CallStateSchema,
    caller: z.string(),
    callees: z.array(z.string()),
    media: MediaSchema,
    createdAt: z.string().openapi({ example: "2026-11-24T20:00:00.000Z" }),
    metadata: MetadataSchema.optional(),
    answeredAt: z.string().optional(),
    answeredBy: z.string().optional(),
    endedAt: z.string().optional(),
    endReason: EndReasonSchema.optional(),
  })
  .openapi("Call");
export type CallView = z.output<typeof CallViewSchema>;

export const CreatedCallSchema = z
  .object({
    callId: z.string(),
    state: z.literal("ringing"),
    iceServers: z.array(IceServerSchema),
    ttl: z.number().int().openapi({ description: "Lifetime of the TURN credential, seconds" }),
    expiresAt: z.string().openapi({ description: "When the TURN credential expires" }),
    region: z.string(),
    wsPath: z.string().openapi({ example: "/v1/calls/q3V8c1mZk0Qv9oYx2bLwTg/ws" }),
    ringsUntil: z.string().openapi({ description: "When the call ends as missed if nobody answers" }),
  })
  .openapi("CreatedCall");
