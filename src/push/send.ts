import { z } from "@hono/zod-openapi";
import { DEFAULT_APP, type Device } from "../devices/device";
import { ApiError } from "../platform/errors";
import { eachLimited } from "../platform/concurrency";
import { UserIdSchema, WellFormedString } from "../platform/ids";
import { appsWith } from "./apps";
import { SEND_CONCURRENCY, type PushContext } from "./context";
import { deliverToDevice, sendToTopic, type DeviceResult } from "./delivery";
import { devicesOf } from "./fanout";
import { enqueueDeliveries, FANOUT_USERS_PER_JOB, fanoutMessages, sendAll, type PushJob } from "./jobs";
import { tooLargeForSomeDevice } from "./payloads";
import type { PushNotification } from "./push-notification";
import { retryDelaySeconds } from "./outcome";
import { TopicSchema } from "./topics";

/**
 * `POST /v1/push/send` (contract section 5.3): a custom or silent notification to users and/or a
 * topic, sent once at once to every device with the outcomes in the response, retries queued.
 */
const DEFAULT_TTL_SECONDS = 86_400;
const MAX_TTL_SECONDS = 28 * 86_400;

/**
 * Users whose devices are sent to within the request: one fan-out job's worth (a `list` each, and
 * for each of their at most 160 devices at most 5 operations to remove a dead token — 808 at
 * worst). A request naming more goes through the queue's fan-out, so no invocation nears KV's
 * 1,000 operations.
 */
export const INLINE_MAX_USERS = FANOUT_USERS_PER_JOB;

export const SendRequestSchema = z
  .object({
    userIds: z.array(UserIdSchema).min(1).max(1000).optional(),
    topic: TopicSchema.optional(),
    notification: z
      .object({
        kind: z.enum(["custom", "silent"]),
        title: WellFormedString.max(200).optional(),
        body: WellFormedString.max(1000).optional(),
        data: z.record(WellFormedString.max(100), WellFormedString).optional(),
        priority: z.enum(["high", "normal"]).optional(),
        // Seconds the notification stays worth delivering (retries included); default a day.
        ttl: z.number().int().min(1).max(MAX_TTL_SECONDS).optional(),
        collapseKey: WellFormedString.max(64).optional(),
      })
      .strict()
      .refine((n) => n.kind === "custom" || (n.title === undefined && n.body === undefined), "silent notifications carry no title or body")
      .refine((n) => n.kind === "silent" || n.title !== undefined || n.body !== undefined, "custom notifications need a title or a body"),
  })
  .strict()
  .refine((body) => body.userIds || body.topic, "name userIds, a topic, or both")
  .openapi("PushSend");
export type SendRequest = z.output<typeof SendRequestSchema>;

const DeviceOutcomeSchema = z.object({
  userId: z.string(),
  deviceId: z.string(),
  provider: z.enum(["fcm", "apns", "webpush", "log"]),
  status: z.enum(["delivered", "retrying", "removed", "failed"]),
  reason: z.string().optional(),
});
type DeviceOutcome = z.output<typeof DeviceOutcomeSchema>;

const TopicStatus = z.enum(["delivered", "retrying", "failed", "not_configured"]);

const TopicOutcomeSchema = z.object({
  name: z.string(),
  fcm: TopicStatus.openapi({ description: "The topic message at FCM: the worst of every app's (failed, retrying, delivered), not_configured when no app has FCM" }),
  reason: z.string().optional(),
  apps: z
    .array(z.object({ app: z.string(), fcm: TopicStatus, reason: z.string().optional() }))
    .optional()
    .openapi({ description: "Each app's topic message (FCM topics are per Firebase project); only when PUSH_APPS adds apps" }),
});
type TopicOutcome = z.output<typeof TopicOutcomeSchema>;

export const SendResultSchema = z
  .object({
    notificationId: z.string(),
    summary: z.object({ delivered: z.number(), retrying: z.number(), removed: z.number(), failed: z.number() }),
    devices: z.array(DeviceOutcomeSchema),
    topic: TopicOutcomeSchema.optional(),
    queued: z
      .object({
        users: z.number().openapi({ description: "Users whose devices are reached through the queue (more than 8 named)" }),
        topicMembers: z.boolean().openapi({ description: "The topic's members this service sends to itself (APNs devices, or all without FCM) are reached through the queue" }),
      })
      .optional(),
  })
  .openapi("PushSendResult");
export type SendResult = z.output<typeof SendResultSchema>;

/**
 * Sends `request`: the devices of up to {@link INLINE_MAX_USERS} named users one by one now,
 * with their outcomes in the result; more users through the queue's fan-out. A topic gets one FCM
 * topic message now; its members that FCM does not reach (APNs devices, or every member without
 * FCM) are reached through the queue, a page at a time, whatever the topic's size. Retries go to
 * the queue with their back-off and never hold the response. `status` is 202 when anything was
 * queued. A notification too large for push is refused with 413 up front.
 */
export async function sendPush(push: PushContext, request: SendRequest): Promise<{ status: 200 | 202; result: SendResult }> {
  const { topic } = request;
  const userIds = [...new Set(request.userIds ?? [])];
  const notification = toNotification(request.notification, Date.now());
  const inline = userIds.length <= INLINE_MAX_USERS;
  if (!inline) await sendAll(push.env.PUSH_QUEUE, fanoutMessages(notification, userIds));
  const devices: Device[] = inline ? await devicesOf(push, userIds) : [];
  const outcomes: DeviceOutcome[] = [];
  const retries: { device: Device; delay: number }[] = [];
  await eachLimited(devices, SEND_CONCURRENCY, async (device) => {
    const result = await deliverToDevice(push, notification, device);
    if (result.status === "retry") retries.push({ device, delay: retryDelaySeconds(1, result.retryAfterSeconds) });
    outcomes.push({ userId: device.userId, deviceId: device.deviceId, provider: result.provider, status: statusOf(result), ...reasonOf(result) });
  });
  for (const { device, delay } of retries) {
    await enqueueDeliveries(push.env.PUSH_QUEUE, notification, [device], { delaySeconds: delay, priorAttempts: 1 });
  }
  let topicOutcome: TopicOutcome | undefined;
  if (topic !== undefined) {
    topicOutcome = await sendTopic(push, notification, topic);
    // Members whose app's FCM has topics got the topic message from FCM itself; the others
    // (APNs, Web Push, FCM without credentials) are reached one by one.
    await push.env.PUSH_QUEUE.send({ type: "topic-members", notification, topic, reachedByTopics: true } satisfies PushJob);
  }
  const count = (status: DeviceOutcome["status"]) => outcomes.filter((outcome) => outcome.status === status).length;
  const queued = !inline || topic !== undefined;
  return {
    status: queued ? 202 : 200,
    result: {
      notificationId: notification.id,
      summary: { delivered: count("delivered"), retrying: count("retrying"), removed: count("removed"), failed: count("failed") },
      devices: outcomes,
      ...(topicOutcome ? { topic: topicOutcome } : {}),
      ...(queued ? { queued: { users: inline ? 0 : userIds.length, topicMembers: topic !== undefined } } : {}),
    },
  };
}

function toNotification(input: SendRequest["notification"], now: number): PushNotification {
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
  // Refused now if some device could never get it (the longest FCM token, APNs, Web Push).
  const tooLarge = tooLargeForSomeDevice(notification, now);
  if (tooLarge) throw new ApiError("payload_too_large", `notification too large for push: ${tooLarge}`);
  return notification;
}

/** The topic message at the FCM of every app that has FCM (topics are per Firebase project), retries queued. */
async function sendTopic(push: PushContext, notification: PushNotification, topic: string): Promise<TopicOutcome> {
  const ids = appsWith(push.env, "fcm");
  const apps = await Promise.all(
    ids.map(async (app): Promise<NonNullable<TopicOutcome["apps"]>[number]> => {
      const sent = await sendToTopic(push, notification, topic, app);
      if (!sent) return { app, fcm: "not_configured" as const };
      if (sent.status === "retry") {
        await push.env.PUSH_QUEUE.send({ type: "topic", notification, topic, ...(app === DEFAULT_APP ? {} : { app }), priorAttempts: 1 } satisfies PushJob, {
          delaySeconds: retryDelaySeconds(1, sent.retryAfterSeconds),
        });
      }
      const fcm = sent.status === "delivered" ? ("delivered" as const) : sent.status === "retry" ? ("retrying" as const) : ("failed" as const);
      return { app, fcm, ...reasonOf(sent) };
    }),
  );
  const worst = (["failed", "retrying", "delivered"] as const).map((status) => apps.find((outcome) => outcome.fcm === status)).find(Boolean);
  return { name: topic, fcm: worst?.fcm ?? "not_configured", ...(worst?.reason ? { reason: worst.reason } : {}), ...(ids.length > 1 ? { apps } : {}) };
}

const statusOf = (result: DeviceResult): DeviceOutcome["status"] =>
  result.status === "dead" ? "removed" : result.status === "retry" ? "retrying" : result.status === "delivered" ? "delivered" : "failed";

const reasonOf = (result: { status: string; reason?: string }) => (result.reason !== undefined ? { reason: result.reason } : {});
