import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bearerSecurity, errorContent, jsonContent, newRouter, type AppEnv } from "../app";
import { getConfig } from "../config";
import { iceConfiguration } from "./credentials";
import { callerLocation } from "./regions";

const TtlQuerySchema = z
  .object({
    ttl: z
      .string()
      .regex(/^[0-9]{1,15}$/, "must be a whole number of seconds (at most 15 digits; clamped to TURN_MAX_TTL)")
      .transform(Number)
      .optional()
      .openapi({
        param: { name: "ttl", in: "query" },
        type: "integer",
        description: "Requested credential lifetime in seconds, clamped to [60, TURN_MAX_TTL].",
        example: "3600",
      }),
  })
  .strict();

export const IceServerSchema = z
  .object({
    urls: z.array(z.string()).openapi({ example: ["turn:turn-eu1.example.com:3478?transport=udp"] }),
    username: z.string().optional().openapi({ example: "1795521600:user-123" }),
    credential: z.string().optional().openapi({ example: "q0x3Jv3b0f8xq1dJc3kE9yX5p1M=" }),
  })
  .openapi("IceServer");

export const IceServersSchema = z
  .object({
    iceServers: z.array(IceServerSchema),
    ttl: z.number().int().openapi({ example: 86400 }),
    expiresAt: z.string().openapi({ example: "2026-11-25T11:20:00Z" }),
    region: z.string().openapi({ example: "eu" }),
  })
  .openapi("IceServers", {
    description: "A valid RTCConfiguration (pass it to new RTCPeerConnection) plus the credential's lifetime and region.",
  });

const TurnRestSchema = z
  .object({
    username: z.string().openapi({ example: "1795521600:user-123" }),
    password: z.string().openapi({ example: "q0x3Jv3b0f8xq1dJc3kE9yX5p1M=" }),
    ttl: z.number().int().openapi({ example: 86400 }),
    uris: z.array(z.string()).openapi({ example: ["turn:turn-eu1.example.com:3478?transport=udp"] }),
  })
  .openapi("TurnRestCredentials");

const errors = {
  400: errorContent("Bad query"),
  401: errorContent("Missing or invalid bearer token"),
};

/** The caller's ICE configuration: their user id, where the request comes from, the ttl asked. */
export function iceFor(c: Context<AppEnv>, ttl?: number) {
  return iceConfiguration(getConfig(c.env).turn, {
    userId: c.var.principal.userId,
    caller: callerLocation(c.req.raw.cf),
    ...(ttl === undefined ? {} : { ttl }),
    now: Date.now(),
  });
}

/** `GET /v1/calls/ice-servers` and `GET /v1/turn/credentials`: the same credential, two shapes. */
export const turnRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/calls/ice-servers",
      tags: ["ICE and TURN"],
      summary: "ICE servers with a time-limited TURN credential, nearest region first",
      security: bearerSecurity,
      request: { query: TtlQuerySchema },
      responses: {
        200: jsonContent(IceServersSchema, "An RTCConfiguration"),
        ...errors,
      },
    }),
    async (c) => {
      const ice = await iceFor(c, c.req.valid("query").ttl);
      return c.json({ iceServers: ice.iceServers, ttl: ice.ttl, expiresAt: ice.expiresAt, region: ice.region }, 200, noStore);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/turn/credentials",
      tags: ["ICE and TURN"],
      summary: "The same credential in the draft-uberti-behave-turn-rest shape",
      security: bearerSecurity,
      request: { query: TtlQuerySchema },
      responses: {
        200: jsonContent(TurnRestSchema, "TURN REST API credentials"),
        ...errors,
      },
    }),
    async (c) => {
      const ice = await iceFor(c, c.req.valid("query").ttl);
      const { username, credential: password } = ice.credential;
      return c.json({ username, password, ttl: ice.ttl, uris: ice.uris }, 200, noStore);
    },
  );

// Credentials are per user and short-lived: no cache may keep or share them.
const noStore = { "cache-control": "no-store" };
