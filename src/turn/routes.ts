import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../platform/errors";
import { bearerSecurity, errorContent, jsonContent, newRouter } from "../platform/http";
import { limitPerUser } from "../platform/request-limits";
import { turnFleetStatus, TurnFleetStatusSchema } from "./fleet";
import { iceFor, IceServersSchema } from "./ice";

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

/**
 * The query of draft-uberti-behave-turn-rest-00 (section 2.1): `service=turn` (the draft requires
 * it; optional here, since the same route answered without it before), an optional `username`,
 * and our `ttl`. The credential's user part is always the token's subject: a `username` naming
 * anyone else is refused rather than silently replaced.
 */
const TurnRestQuerySchema = TtlQuerySchema.extend({
  service: z
    .literal("turn", { error: "the only service is turn" })
    .optional()
    .openapi({ param: { name: "service", in: "query" }, description: "The draft's required parameter: `turn`" }),
  username: z
    .string()
    .max(400)
    .optional()
    .openapi({ param: { name: "username", in: "query" }, description: "The draft's optional user id; if given, it must be the token's subject" }),
  // The draft's optional API key: this service authenticates the bearer token instead, so a key a
  // draft client sends is taken and plays no part.
  key: z
    .string()
    .max(256)
    .optional()
    .openapi({ param: { name: "key", in: "query" }, description: "The draft's optional API key: accepted and ignored (the bearer token authenticates)" }),
}).strict();

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
  429: errorContent("Too many credential requests from this user (60 a minute); see retry-after"),
};

/** `GET /v1/calls/ice-servers` and `GET /v1/turn/credentials`: the same credential, two shapes. */
export const turnRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/calls/ice-servers",
      tags: ["ICE and TURN"],
      summary: "ICE servers with a time-limited TURN credential, nearest region first",
      security: bearerSecurity,
      middleware: [limitPerUser("credentials")] as const,
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
      middleware: [limitPerUser("credentials")] as const,
      request: { query: TurnRestQuerySchema },
      responses: {
        200: jsonContent(TurnRestSchema, "TURN REST API credentials"),
        ...errors,
        403: errorContent("`username` names someone other than the token's subject"),
        503: errorContent("Only the managed pool is configured and its API is unavailable"),
      },
    }),
    async (c) => {
      const { ttl, username } = c.req.valid("query");
      if (username !== undefined && username !== c.var.principal.userId) {
        throw new ApiError("forbidden", "credentials are issued for the token's subject only: username must be the token's sub, or be left out");
      }
      const ice = await iceFor(c, ttl);
      if (!ice.rest) throw new ApiError("internal", "no TURN pool can issue a credential now (the managed TURN API is unavailable)", { status: 503 });
      return c.json({ ...ice.rest, ttl: ice.ttl }, 200, noStore);
    },
  );

// Credentials are per user and short-lived: no cache may keep or share them.
const noStore = { "cache-control": "no-store" };

/**
 * `GET /v1/admin/turn` (scope `admin`, checked for all of /v1/admin in api.ts: this layer does
 * not import auth): each pool's hosts with their health and last probes. Not in the contract; an
 * addition for operators (docs/turn.md).
 */
turnRoutes.openapi(
  createRoute({
    method: "get",
    path: "/admin/turn",
    tags: ["Admin"],
    summary: "The TURN fleet: each host's health, as the minute's probes found it (scope admin)",
    security: bearerSecurity,
    responses: {
      200: jsonContent(TurnFleetStatusSchema, "Every pool and host, with its status and last 30 probes"),
      401: errorContent("Missing or invalid bearer token"),
      403: errorContent("Token lacks scope admin"),
    },
  }),
  async (c) => c.json(await turnFleetStatus(c.env), 200, noStore),
);
