import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../auth/middleware";
import { bearerSecurity, errorContent, jsonContent, newRouter } from "../platform/http";
import { limitPerUser } from "../platform/request-limits";
import { checkPush, PushCheckQuerySchema, PushCheckSchema } from "./check";
import { webPushConfig } from "./config";
import { pushContext } from "./context";
import { SendRequestSchema, SendResultSchema, sendPush } from "./send";
import { changeMembership, MembershipResultSchema, MembershipSchema, TopicSchema } from "./topics";

const tags = ["Push"];
const failures = { 400: errorContent("Bad body"), 401: errorContent("Missing or invalid bearer token"), 403: errorContent("Token lacks scope push:send") };

const membershipRoute = (action: "subscribe" | "unsubscribe") =>
  createRoute({
    method: "post",
    path: `/push/topics/{topic}/${action}`,
    tags,
    summary: `${action === "subscribe" ? "Subscribe" : "Unsubscribe"} some of the token subject's own devices ${action === "subscribe" ? "to" : "from"} a topic (scope push:send)`,
    security: bearerSecurity,
    middleware: [limitPerUser("topicWrites")] as const,
    request: {
      params: z.object({ topic: TopicSchema.openapi({ param: { name: "topic", in: "path" }, example: "news" }) }),
      body: { content: { "application/json": { schema: MembershipSchema } }, required: true },
    },
    responses: {
      200: jsonContent(MembershipResultSchema, "Per-device results"),
      ...failures,
      429: errorContent("Too many topic membership changes by this user (30 a minute); see retry-after"),
    },
  });

/**
 * Server-to-server sends and topic membership (section 5.3): every route here needs a token with
 * scope `push:send` (section 2), checked before the body is. Membership changes act on the
 * devices of the token's `sub`.
 */
export const pushRoutes = newRouter();
pushRoutes.use("/push/send", requireScope("push:send"));
pushRoutes.use("/push/topics/*", requireScope("push:send"));
pushRoutes
  .openapi(
    createRoute({
      method: "post",
      path: "/push/send",
      tags,
      summary: "Send a custom or silent notification to users and/or a topic (scope push:send)",
      security: bearerSecurity,
      request: { body: { content: { "application/json": { schema: SendRequestSchema } }, required: true } },
      responses: {
        200: jsonContent(SendResultSchema, "Every device was tried: per-device outcomes of the first attempt"),
        202: jsonContent(SendResultSchema, "Some devices are reached through the queue (more than 8 users, or a topic's members): see `queued`"),
        ...failures,
      },
    }),
    async (c) => {
      const { status, result } = await sendPush(pushContext(c.env), c.req.valid("json"));
      return status === 202 ? c.json(result, 202) : c.json(result, 200);
    },
  )
  .openapi(membershipRoute("subscribe"), async (c) =>
    c.json(await changeMembership(pushContext(c.env), c.var.principal.userId, c.req.valid("param").topic, c.req.valid("json").deviceIds, "subscribe"), 200),
  )
  .openapi(membershipRoute("unsubscribe"), async (c) =>
    c.json(await changeMembership(pushContext(c.env), c.var.principal.userId, c.req.valid("param").topic, c.req.valid("json").deviceIds, "unsubscribe"), 200),
  );

/**
 * The VAPID public key browsers subscribe with (`applicationServerKey` of `pushManager.subscribe`):
 * any signed-in user, since every browser of the app needs it. Null when Web Push is not set up.
 */
pushRoutes.openapi(
  createRoute({
    method: "get",
    path: "/push/vapid-public-key",
    tags,
    summary: "The VAPID public key a browser subscribes to Web Push with",
    security: bearerSecurity,
    responses: {
      200: jsonContent(
        z.object({
          publicKey: z
            .string()
            .nullable()
            .openapi({ description: "base64url of the uncompressed P-256 public key; null when VAPID_PUBLIC_KEY is not set", example: "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8" }),
        }),
        "The key (or null)",
      ),
      401: errorContent("Missing or invalid bearer token"),
    },
  }),
  (c) => c.json({ publicKey: webPushConfig(c.env)?.publicKey ?? null }, 200),
);

/**
 * Operations (scope `admin`, its own scope: a backend allowed to send pushes may not probe the
 * providers, nor the other way round). Not in the contract's section 5.3; an addition.
 */
pushRoutes.use("/admin/push/*", requireScope("admin"));
pushRoutes.openapi(
  createRoute({
    method: "post",
    path: "/admin/push/check",
    tags: ["Admin"],
    summary: "Prove that the configured push providers accept our credentials, notifying nobody (scope admin)",
    description:
      "FCM: a fresh OAuth access token, then a validate_only message to a topic. APNs: a push to an all-zero device token, " +
      "which APNs must refuse with 400 BadDeviceToken after accepting the provider token. Always 200; read `ok`.",
    security: bearerSecurity,
    request: { query: PushCheckQuerySchema },
    responses: {
      200: jsonContent(PushCheckSchema, "One result per provider; ok when every configured one passed"),
      400: errorContent("Bad query"),
      401: errorContent("Missing or invalid bearer token"),
      403: errorContent("Token lacks scope admin"),
    },
  }),
  async (c) => c.json(await checkPush(pushContext(c.env), { apnsEnvironment: c.req.valid("query").apnsEnvironment }), 200),
);
