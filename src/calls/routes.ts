import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { newRouter, type AppEnv } from "../app";
import { getConfig } from "../config";
import { ApiError, ErrorBodySchema } from "../errors";
import { iceFor, IceServerSchema } from "../turn/routes";
import { USER_HEADER, type CallAction, type RoomResult } from "./room";

const UserId = z.string().regex(/^[^\p{Cc}\s]{1,200}$/u, "must be a user id of 1 to 200 printable characters");

const MetadataSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "keys are letters, digits, _ . -"), z.union([z.string(), z.number(), z.boolean()]))
  .refine((value) => JSON.stringify(value).length <= 1024, "must be at most 1024 bytes as JSON")
  .openapi({ description: "Small app data carried to the callees (e.g. display name); at most 1 KiB.", example: { displayName: "Alice" } });

const MAX_CALLEES = 32;

const CreateCallSchema = z
  .object({
    // A group ring may reach more people than may connect at once (SIGNAL_MAX_CONNECTIONS).
    callees: z.array(UserId).min(1).max(MAX_CALLEES).openapi({ example: ["user-b"] }),
    media: z.enum(["audio", "video"]),
    metadata: MetadataSchema.optional(),
  })
  .strict()
  .openapi("CreateCall");

const CallSchema = z
  .object({
    callId: z.string().openapi({ example: "q3V8c1mZk0Qv9oYx2bLwTg" }),
    state: z.enum(["ringing", "active", "ended"]),
    caller: z.string(),
    callees: z.array(z.string()),
    media: z.enum(["audio", "video"]),
    createdAt: z.string().openapi({ example: "2026-11-24T20:00:00.000Z" }),
    metadata: MetadataSchema.optional(),
    answeredAt: z.string().optional(),
    answeredBy: z.string().optional(),
    endedAt: z.string().optional(),
    endReason: z.enum(["hangup", "declined", "cancelled", "missed", "failed"]).optional(),
  })
  .openapi("Call");

const CreatedCallSchema = z
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

const CallIdParam = z.object({
  callId: z.string().openapi({ param: { name: "callId", in: "path" }, example: "q3V8c1mZk0Qv9oYx2bLwTg" }),
});

const json = (schema: z.ZodType, description: string) => ({ description, content: { "application/json": { schema } } });
const failures = {
  401: json(ErrorBodySchema, "Missing or invalid bearer token"),
  403: json(ErrorBodySchema, "Not a participant of this call, or not allowed to do this"),
  404: json(ErrorBodySchema, "No such call"),
};
const security = [{ bearerAuth: [] }];
const tags = ["Calls"];

/** Call ids: 128 random bits, base64url. Anything else cannot be a call. */
const CALL_ID = /^[A-Za-z0-9_-]{22}$/;

function newCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function room(c: Context<AppEnv>, callId: string) {
  if (!CALL_ID.test(callId)) throw new ApiError("not_found", "no such call");
  return c.env.CALL_ROOM.get(c.env.CALL_ROOM.idFromName(callId));
}

function unwrap<T>(result: RoomResult<T>): T {
  if (!result.ok) throw new ApiError(result.code, result.message);
  return result.value;
}

const actionRoute = (action: CallAction, summary: string) =>
  createRoute({
    method: "post",
    path: `/calls/{callId}/${action}`,
    tags,
    summary,
    security,
    request: { params: CallIdParam },
    responses: { 200: json(CallSchema, "The call after the change"), ...failures, 409: json(ErrorBodySchema, "Not allowed in the call's current state") },
  });

/** The calls REST API (section 4.1); each call lives in its own {@link CallRoom}. */
export const callRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/calls",
      tags,
      summary: "Start a call: rings the callees and returns the ICE servers",
      security,
      request: { body: { content: { "application/json": { schema: CreateCallSchema } }, required: true } },
      responses: { 201: json(CreatedCallSchema, "The call, ringing"), 400: json(ErrorBodySchema, "Bad body"), 401: failures[401] },
    }),
    async (c) => {
      const { callees, media, metadata } = c.req.valid("json");
      const caller = c.var.principal.userId;
      const config = getConfig(c.env);
      if (callees.includes(caller)) throw new ApiError("invalid_request", "callees must not include the caller");
      if (new Set(callees).size !== callees.length) throw new ApiError("invalid_request", "callees must be distinct");
      const callId = newCallId();
      const [call, ice] = await Promise.all([
        room(c, callId).create({ callId, caller, callees, media, ...(metadata ? { metadata } : {}) }),
        iceFor(c),
      ]);
      const created = unwrap(call);
      return c.json(
        {
          callId,
          state: "ringing" as const,
          iceServers: ice.iceServers,
          ttl: ice.ttl,
          expiresAt: ice.expiresAt,
          region: ice.region,
          wsPath: `/v1/calls/${callId}/ws`,
          ringsUntil: new Date(Date.parse(created.createdAt) + config.calls.ringTimeoutMs).toISOString(),
        },
        201,
        { location: `/v1/calls/${callId}` },
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/calls/{callId}",
      tags,
      summary: "A call's state (caller and callees only)",
      security,
      request: { params: CallIdParam },
      responses: { 200: json(CallSchema, "The call"), ...failures },
    }),
    async (c) => c.json(unwrap(await room(c, c.req.valid("param").callId).view(c.var.principal.userId)), 200),
  )
  .openapi(actionRoute("accept", "Answer a ringing call (a callee)"), async (c) =>
    c.json(unwrap(await room(c, c.req.valid("param").callId).act(c.var.principal.userId, "accept")), 200),
  )
  .openapi(actionRoute("decline", "Decline a ringing call (a callee)"), async (c) =>
    c.json(unwrap(await room(c, c.req.valid("param").callId).act(c.var.principal.userId, "decline")), 200),
  )
  .openapi(actionRoute("end", "Hang up, or cancel a call that is still ringing (the caller)"), async (c) =>
    c.json(unwrap(await room(c, c.req.valid("param").callId).act(c.var.principal.userId, "end")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/calls/{callId}/ws",
      tags,
      summary: "The call's signaling socket (WebSocket upgrade, subprotocol signal.v1)",
      description:
        "Authenticate with `Authorization: Bearer <JWT>`, or offer the subprotocols `signal.v1` and `bearer.<JWT>`. Protocol: docs/signaling.md.",
      security,
      request: { params: CallIdParam },
      responses: {
        101: { description: "Switching protocols" },
        ...failures,
        409: json(ErrorBodySchema, "The call has ended"),
        426: json(ErrorBodySchema, "Not a WebSocket upgrade"),
        429: json(ErrorBodySchema, "The call has as many connections as it allows"),
      },
    }),
    async (c) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new ApiError("invalid_request", "this endpoint is a WebSocket upgrade", undefined, { upgrade: "websocket" }, 426);
      }
      const headers = new Headers(c.req.raw.headers);
      headers.set(USER_HEADER, c.var.principal.userId);
      // The room answers the upgrade itself; the response passes through untouched.
      return room(c, c.req.valid("param").callId).fetch(new Request(c.req.raw, { headers })) as unknown as Response;
    },
  );
