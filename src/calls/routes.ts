import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../platform/errors";
import { bearerSecurity, errorContent, jsonContent, newRouter, type AppEnv } from "../platform/http";
import { randomId } from "../platform/ids";
import { RATE_LIMITS } from "../platform/request-limits";
import { turnConfig } from "../turn/config";
import { iceFor } from "../turn/ice";
import { CallStarts } from "./admission";
import { callsConfig } from "./config";
import { IncomingCallSchema } from "./line-protocol";
import type { CallAction, RoomResult } from "./room";
import { CallHistorySchema, CallListQuerySchema, CallViewSchema, CreateCallSchema, CreatedCallSchema, parseHistoryCursor } from "./schemas";
import { USER_HEADER } from "./sockets";

export const CallIdParam = z.object({
  callId: z.string().openapi({ param: { name: "callId", in: "path" }, example: "q3V8c1mZk0Qv9oYx2bLwTg" }),
});

const failures = {
  401: errorContent("Missing or invalid bearer token"),
  403: errorContent("Not a participant of this call, or not allowed to do this"),
  404: errorContent("No such call"),
};
const tags = ["Calls"];

/** This isolate's view of who started calls lately: whether each new one may ring before the limiter answers. */
const callStarts = new CallStarts(RATE_LIMITS.calls.limit, RATE_LIMITS.calls.period * 1000);

/** Call ids: 128 random bits, base64url. Anything else cannot be a call. */
const CALL_ID = /^[A-Za-z0-9_-]{22}$/;

export function room(c: Context<AppEnv>, callId: string) {
  if (!CALL_ID.test(callId)) throw new ApiError("not_found", "no such call");
  return c.env.CALL_ROOM.get(c.env.CALL_ROOM.idFromName(callId));
}

/** The user's line (line.ts): their ringing calls, history and line sockets. */
const lineOf = (c: Context<AppEnv>) => c.env.USER_LINE.get(c.env.USER_LINE.idFromName(c.var.principal.userId));

/** 426 unless the request is a WebSocket upgrade. */
function requireUpgrade(c: Context<AppEnv>): void {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("invalid_request", "this endpoint is a WebSocket upgrade", { headers: { upgrade: "websocket" }, status: 426 });
  }
}

/** The upgrade request as a room or line gets it: with the authenticated user stamped on. */
function asUser(c: Context<AppEnv>): Request {
  const headers = new Headers(c.req.raw.headers);
  headers.set(USER_HEADER, c.var.principal.userId);
  return new Request(c.req.raw, { headers });
}

export function unwrap<T>(result: RoomResult<T>): T {
  if (!result.ok) throw new ApiError(result.code, result.message, result.headers ? { headers: result.headers } : {});
  return result.value;
}

const actionRoute = (action: CallAction, summary: string) =>
  createRoute({
    method: "post",
    path: `/calls/{callId}/${action}`,
    tags,
    summary,
    security: bearerSecurity,
    request: { params: CallIdParam },
    responses: { 200: jsonContent(CallViewSchema, "The call after the change"), ...failures, 409: errorContent("Not allowed in the call's current state") },
  });

/** The calls REST API (section 4.1); each call lives in its own {@link CallRoom}. */
export const callRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/calls",
      tags,
      summary: "Start a call: rings the callees and returns the ICE servers",
      security: bearerSecurity,
      request: { body: { content: { "application/json": { schema: CreateCallSchema } }, required: true } },
      responses: {
        201: jsonContent(CreatedCallSchema, "The call, ringing"),
        400: errorContent("Bad body"),
        401: failures[401],
        429: errorContent("Too many calls started by this user (10 a minute); see retry-after"),
      },
    }),
    async (c) => {
      const { callees, media, metadata } = c.req.valid("json");
      const caller = c.var.principal.userId;
      if (callees.includes(caller)) throw new ApiError("invalid_request", "callees must not include the caller");
      if (new Set(callees).size !== callees.length) throw new ApiError("invalid_request", "callees must be distinct");
      // The sections the answer needs are read before anything rings: a broken TURN_POOLS is a
      // 500 before the call exists, never after its callees' phones rang.
      const { ringTimeoutMs } = callsConfig(c.env);
      turnConfig(c.env);
      const callId = randomId(16);
      const admission = callStarts.admit(caller, Date.now());
      const creation = room(c, callId).create({ callId, caller, callees, media, ...(metadata ? { metadata } : {}) }, admission);
      void creation.then(
        (result) => callStarts.answered(caller, admission, result.ok ? result.overLimit === true : result.code === "rate_limited", Date.now()),
        () => callStarts.answered(caller, admission, false, Date.now()),
      );
      const [call, ice] = await Promise.all([creation, iceFor(c)]);
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
          ringsUntil: new Date(Date.parse(created.createdAt) + ringTimeoutMs).toISOString(),
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
      security: bearerSecurity,
      request: { params: CallIdParam },
      responses: { 200: jsonContent(CallViewSchema, "The call"), ...failures },
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
      security: bearerSecurity,
      request: { params: CallIdParam },
      responses: {
        101: { description: "Switching protocols" },
        ...failures,
        409: errorContent("The call has ended"),
        426: errorContent("Not a WebSocket upgrade"),
        429: errorContent("The call has as many connections as it allows"),
      },
    }),
    async (c) => {
      requireUpgrade(c);
      // The room answers the upgrade itself; the response passes through untouched.
      return room(c, c.req.valid("param").callId).fetch(asUser(c)) as unknown as Response;
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/calls",
      tags,
      summary: "The calls ringing for you (?state=ringing), or your call history, newest first",
      description: "History pages hold `limit` calls (default 20, at most 100); pass a page's `next` as `before` for the next one. A user's line remembers their last 200 calls.",
      security: bearerSecurity,
      request: { query: CallListQuerySchema },
      responses: {
        200: jsonContent(z.union([z.object({ calls: z.array(IncomingCallSchema) }), CallHistorySchema]), "Ringing calls, or a page of history"),
        400: errorContent("Bad query"),
        401: failures[401],
      },
    }),
    async (c) => {
      const { state, limit, before } = c.req.valid("query");
      const { userId } = c.var.principal;
      if (state === "ringing") return c.json({ calls: await lineOf(c).ringing(userId) }, 200);
      return c.json(await lineOf(c).history(userId, limit ?? 20, before === undefined ? undefined : parseHistoryCursor(before)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/me/ws",
      tags,
      summary: "Your line: incoming calls and what becomes of your calls, on every tab and device (WebSocket)",
      description:
        "Authenticate like the call socket (`Authorization` or the subprotocols `signal.v1` and `bearer.<JWT>`). First frame `welcome` with the calls ringing for you; then `incoming-call` and `call-update`. Up to 10 sockets per user. Protocol: docs/signaling.md.",
      security: bearerSecurity,
      responses: {
        101: { description: "Switching protocols" },
        401: failures[401],
        426: errorContent("Not a WebSocket upgrade"),
        429: errorContent("The user already has 10 line sockets"),
      },
    }),
    async (c) => {
      requireUpgrade(c);
      return lineOf(c).fetch(asUser(c)) as unknown as Response;
    },
  );
