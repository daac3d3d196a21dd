import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, errorContent, jsonContent, newRouter } from "../app";
import { requireScope } from "../auth/middleware";
import { getConfig } from "../config";
import { DeviceIdSchema, getDevice, type Device } from "../devices/store";
import { ApiError } from "../errors";
import { UserIdSchema } from "../ids";
import { deliverToDevice, devicesOf, eachLimited, enqueueDeliveries, pushContext, SEND_CONCURRENCY, sendToTopic, type DeviceResult, type PushJob } from "./dispatch";
import { fcmTopicMembership } from "./fcm";
import { fcmMessage, PayloadTooLarge } from "./messages";
import type { PushNotification } from "./notifications";
import { retryDelaySeconds } from "./outcome";
import { addMember, removeMember, TOPIC, topicMembers } from "./topics";

const Topic = z.string().regex(TOPIC, "topics are 1 to 200 of A-Z a-z 0-9 _ . ~ % -");
const DEFAULT_TTL_SECONDS = 86_400;
const MAX_TTL_SECONDS = 28 * 86_400;

const SendSchema = z
  .object({
    userIds: z.array(UserIdSchema).min(1).max(1000).optional(),
    topic: Topic.optional(),
    notification: z
      .object({
        kind: z.enum(["custom", "silent"]),
        title: z.string().max(200).optional(),
        body: z.string().max(1000).optional(),
        data: z.record(z.string().max(100), z.string()).optional(),
        priority: z.enum(["high", "normal"]).optional(),
        // Seconds the notification stays worth delivering (retries included); default a day.
        ttl: z.number().int().min(1).max(MAX_TTL_SECONDS).optional(),
        collapseKey: z.string().max(64).optional(),
      })
      .strict()
      .refine((n) => n.kind === "custom" || (n.title === undefined && n.body === undefined), "silent notifications carry no title or body")
      .refine((n) => n.kind === "silent" || n.title !== undefined || n.body !== undefined, "custom notifications need a title or a body"),
  })
  .strict()
  .refine((body) => body.userIds || body.topic, "name userIds, a topic, or both")
  .openapi("PushSend");

const DeviceOutcomeSchema = z.object({
  userId: z.string(),
  deviceId: z.string(),
  provider: z.enum(["fcm", "apns", "log"]),
  status: z.enum(["delivered", "retrying", "removed", "failed"]),
  reason: z.string().optional(),
});

const SendResultSchema = z
  .object({
    notificationId: z.string(),
    summary: z.object({ delivered: z.number(), retrying: z.number(), removed: z.number(), failed: z.number() }),
    devices: z.array(DeviceOutcomeSchema),
    topic: z.object({ name: z.string(), fcm: z.enum(["delivered", "retrying", "failed", "not_configured"]), reason: z.string().optional() }).optional(),
  })
  .openapi("PushSendResult");

const MembershipSchema = z.object({ deviceIds: z.array(DeviceIdSchema).min(1).max(1000) }).strict();
const MembershipResultSchema = z.object({
  topic: z.string(),
  results: z.array(z.object({ deviceId: z.string(), status: z.enum(["subscribed", "unsubscribed", "not_found", "failed"]), reason: z.string().optional() })),
});

const tags = ["Push"];
const failures = { 400: errorContent("Bad body"), 401: errorContent("Missing or invalid bearer token"), 403: errorContent("Token lacks scope push:send") };

const outcomeStatus = (result: DeviceResult) =>
  result.status === "dead" ? "removed" : result.status === "retry" ? "retrying" : result.status === "delivered" ? "delivered" : "failed";

const membershipRoute = (action: "subscribe" | "unsubscribe") =>
  createRoute({
    method: "post",
    path: `/push/topics/{topic}/${action}`,
    tags,
    summary: `${action === "subscribe" ? "Subscribe" : "Unsubscribe"} some of the token subject's own devices ${action === "subscribe" ? "to" : "from"} a topic (scope push:send)`,
    security: bearerSecurity,
    request: {
      params: z.object({ topic: Topic.openapi({ param: { name: "topic", in: "path" }, example: "news" }) }),
      body: { content: { "application/json": { schema: MembershipSchema } }, required: true },
    },
    responses: { 200: jsonContent(MembershipResultSchema, "Per-device results"), ...failures },
  });

/**
 * Server-to-server sends and topic membership (section 5.3): every route here needs a token with
 * scope `push:send` (section 2), checked before the body is. Membership changes act on the
 * devices of the token's `sub`.
 */
export const pushRoutes = newRouter();
pushRoutes.use("/push/*", requireScope("push:send"));
pushRoutes
  .openapi(
    createRoute({
      method: "post",
      path: "/push/send",
      tags,
      summary: "Send a custom or silent notification to users and/or a topic (scope push:send)",
      security: bearerSecurity,
      request: { body: { content: { "application/json": { schema: SendSchema } }, required: true } },
      responses: { 200: jsonContent(SendResultSchema, "Per-device outcomes of the first attempt"), ...failures },
    }),
    async (c) => {
      const { userIds, topic, notification: input } = c.req.valid("json");
      const push = pushContext(c.env);
      const now = Date.now();
      const notification: PushNotification = {
        id: crypto.randomUUID(),
        kind: input.kind,
        createdAt: now,
        expiresAt: now + (input.ttl ?? DEFAULT_TTL_SECONDS) * 1000,
        content: {
          ...(input.title !== undefined ? { title: input.title } : {}),
          ...(input.body !== undefined ? { body: input.body } : {}),
          ...(input.data ? { data: input.data } : {}),
          priority: input.priority ?? (input.kind === "silent" ? "normal" : "high"),
          ...(input.collapseKey ? { collapseKey: input.collapseKey } : {}),
        },
      };
      // Refuse an oversized notification up front with 413, rather than failing per device: the
      // FCM form (4 KB, the tighter of the two for custom data) decides. The topic is a stand-in.
      try {
        fcmMessage(notification, { topic: "size-check" }, now);
      } catch (error) {
        if (error instanceof PayloadTooLarge) throw new ApiError("payload_too_large", `notification too large for push: ${error.message}`);
        throw error;
      }

      const devices: Device[] = [
        ...(userIds ? await devicesOf(push, userIds) : []),
        // FCM members get the topic message from FCM itself; APNs members are sent one by one.
        ...(topic ? await topicMembers(c.env.DEVICES, topic, { apnsOnly: Boolean(push.config.push.fcm) }) : []),
      ];
      const unique = [...new Map(devices.map((device) => [`${device.userId}\n${device.deviceId}`, device])).values()];
      const outcomes: z.output<typeof DeviceOutcomeSchema>[] = [];
      const retries: { device: Device; delay: number }[] = [];
      await eachLimited(unique, SEND_CONCURRENCY, async (device) => {
        const result = await deliverToDevice(push, notification, device);
        if (result.status === "retry") retries.push({ device, delay: retryDelaySeconds(1, result.retryAfterSeconds) });
        outcomes.push({
          userId: device.userId,
          deviceId: device.deviceId,
          provider: result.provider,
          status: outcomeStatus(result),
          ...("reason" in result ? { reason: result.reason } : {}),
        });
      });
      // Retries never hold the response: they go to the queue with their back-off.
      for (const { device, delay } of retries) await enqueueDeliveries(c.env, notification, [device], { delaySeconds: delay, priorAttempts: 1 });

      let topicResult: z.output<typeof SendResultSchema>["topic"];
      if (topic) {
        const sent = await sendToTopic(push, notification, topic);
        if (!sent) topicResult = { name: topic, fcm: "not_configured" };
        else {
          if (sent.status === "retry") {
            await c.env.PUSH_QUEUE.send({ type: "topic", notification, topic, priorAttempts: 1 } satisfies PushJob, {
              delaySeconds: retryDelaySeconds(1, sent.retryAfterSeconds),
            });
          }
          topicResult = {
            name: topic,
            fcm: sent.status === "delivered" ? "delivered" : sent.status === "retry" ? "retrying" : "failed",
            ...("reason" in sent ? { reason: sent.reason } : {}),
          };
        }
      }
      const count = (status: string) => outcomes.filter((outcome) => outcome.status === status).length;
      return c.json(
        {
          notificationId: notification.id,
          summary: { delivered: count("delivered"), retrying: count("retrying"), removed: count("removed"), failed: count("failed") },
          devices: outcomes,
          ...(topicResult ? { topic: topicResult } : {}),
        },
        200,
      );
    },
  )
  .openapi(membershipRoute("subscribe"), async (c) => c.json(await changeMembership(c.env, c.var.principal.userId, c.req.valid("param").topic, c.req.valid("json").deviceIds, "subscribe"), 200))
  .openapi(membershipRoute("unsubscribe"), async (c) =>
    c.json(await changeMembership(c.env, c.var.principal.userId, c.req.valid("param").topic, c.req.valid("json").deviceIds, "unsubscribe"), 200),
  );

async function changeMembership(env: Env, userId: string, topic: string, deviceIds: string[], action: "subscribe" | "unsubscribe") {
  const fcm = getConfig(env).push.fcm;
  const found = await Promise.all([...new Set(deviceIds)].map(async (deviceId) => ({ deviceId, device: await getDevice(env.DEVICES, userId, deviceId) })));
  const fcmDevices = found.flatMap(({ device }) => (device?.provider === "fcm" ? [device] : []));
  const fcmResults = new Map<string, { ok: boolean; reason?: string }>();
  if (fcm && fcmDevices.length > 0) {
    const results = await fcmTopicMembership(fcm, topic, fcmDevices.map((device) => device.token), action === "subscribe" ? "add" : "remove", fetch);
    fcmDevices.forEach((device, i) => fcmResults.set(device.deviceId, results[i]!));
  }
  const results = await Promise.all(
    found.map(async ({ deviceId, device }) => {
      if (!device) return { deviceId, status: "not_found" as const };
      const atFcm = fcmResults.get(deviceId);
      if (atFcm && !atFcm.ok) return { deviceId, status: "failed" as const, ...(atFcm.reason ? { reason: atFcm.reason } : {}) };
      if (action === "subscribe") await addMember(env.DEVICES, topic, device);
      else await removeMember(env.DEVICES, topic, device);
      return { deviceId, status: action === "subscribe" ? ("subscribed" as const) : ("unsubscribed" as const) };
    }),
  );
  return { topic, results };
}
