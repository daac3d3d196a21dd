import { z } from "@hono/zod-openapi";
import { UserIdSchema, utf8Bytes, WellFormedString } from "../platform/ids";
import { IceServerSchema } from "../turn/credentials";
import { CallStateSchema, EndReasonSchema } from "./protocol";

/**
 * The calls REST API's wire shapes (contract section 4.1): each one validates, types and
 * documents its route, and the state machine's types come from them.
 */
export const MediaSchema = z.enum(["audio", "video"]);
export type Media = z.output<typeof MediaSchema>;

/** Call metadata travels in every push of the call: its JSON is bounded in bytes of UTF-8, not in characters. */
export const METADATA_MAX_BYTES = 1024;

export const MetadataSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "keys are letters, digits, _ . -"), z.union([WellFormedString, z.number(), z.boolean()]))
  .refine((value) => utf8Bytes(JSON.stringify(value)) <= METADATA_MAX_BYTES, `must be at most ${METADATA_MAX_BYTES} bytes of UTF-8 as JSON`)
  .openapi({
    description: `Small app data carried to the callees (e.g. display name): at most ${METADATA_MAX_BYTES} bytes of UTF-8 as JSON, and small enough that every push of the call fits its provider's limit.`,
    example: { displayName: "Alice" },
  });
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

/** One call in a user's history, from that user's side (`GET /v1/calls`). */
export const HistoryEntrySchema = z
  .object({
    callId: z.string(),
    direction: z.enum(["incoming", "outgoing"]),
    caller: z.string(),
    callees: z.array(z.string()),
    media: MediaSchema,
    metadata: MetadataSchema.optional(),
    state: CallStateSchema.openapi({ description: "As this user sees it: a callee who declined sees `ended` (`declined`)" }),
    createdAt: z.string(),
    answeredAt: z.string().optional(),
    answeredBy: z.string().optional(),
    endedAt: z.string().optional(),
    endReason: EndReasonSchema.optional(),
    missed: z.literal(true).optional().openapi({ description: "An incoming call that rang out with nobody answering it" }),
  })
  .openapi("CallHistoryEntry");
export type HistoryEntry = z.output<typeof HistoryEntrySchema>;

export const CallHistorySchema = z
  .object({
    calls: z.array(HistoryEntrySchema),
    next: z.string().optional().openapi({ description: "Pass as `before` for the next (older) page; absent on the last page" }),
  })
  .openapi("CallHistory");

/**
 * Where a history page starts: an ISO 8601 instant, or a page's `next`, which adds the last
 * call's id (`<instant>~<callId>`) so that calls created in the same millisecond are neither
 * repeated nor skipped across pages.
 */
const HISTORY_CURSOR = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})(~[A-Za-z0-9_-]{22})?$/;

/** A history cursor as the line reads it: before this instant (ms), or after this call at it. */
export function parseHistoryCursor(before: string): { at: number; callId?: string } {
  const [instant, callId] = before.split("~") as [string, string | undefined];
  return { at: Date.parse(instant), ...(callId ? { callId } : {}) };
}

/** Most calls one history page holds; a line remembers the last 200. */
export const HISTORY_PAGE_MAX = 100;

export const CallListQuerySchema = z
  .object({
    state: z
      .literal("ringing")
      .optional()
      .openapi({ param: { name: "state", in: "query" }, description: "`ringing`: the calls ringing for you now, instead of the history" }),
    limit: z
      .string()
      .regex(/^[0-9]{1,3}$/, "must be a whole number")
      .transform(Number)
      .pipe(z.number().int().min(1).max(HISTORY_PAGE_MAX))
      .optional()
      .openapi({ param: { name: "limit", in: "query" }, type: "integer", description: `History page size, 1 to ${HISTORY_PAGE_MAX} (default 20)` }),
    before: z
      .string()
      .regex(HISTORY_CURSOR, "must be an ISO 8601 instant, or a page's `next`")
      .refine((value) => !Number.isNaN(Date.parse(value.split("~")[0]!)), "must be a real instant")
      .optional()
      .openapi({
        param: { name: "before", in: "query" },
        description: "Only calls created before this instant (ISO 8601), or after this page: a page's `next` (`<instant>~<callId>`)",
      }),
  })
  .strict();
