import { z } from "zod";
import { getConfig, type Config } from "../config";
import { getDevice, listDevices, redact, removeDeadToken, type Device } from "../devices/store";
import { sendApns } from "./apns";
import { sendFcm } from "./fcm";
import { apnsRequest, fcmMessage, PayloadTooLarge } from "./messages";
import type { PushNotification } from "./notifications";
import { MAX_ATTEMPTS, retryDelaySeconds, type DeliveryOutcome } from "./outcome";

/**
 * Delivery: a notification for users becomes one queue job per device, each sent once and
 * retried on its own, so a failure on one device never re-rings another.
 *
 *   fanout {notification, userIds} ──▶ deliver {notification, userId, deviceId, device} × N
 *   deliver ──▶ FCM / APNs (or the log provider) ──▶ delivered | dead (token removed)
 *                                                  | retry (queue retry with back-off) | failed
 *   topic {notification, topic} ──▶ FCM topic message (a retry of /v1/push/send's topic send)
 *
 * Exhausted retries go to the dead-letter queue; expired notifications are dropped.
 */
export const NotificationSchema = z.object({
  id: z.string(),
  kind: z.enum(["incoming-call", "call-answered", "call-ended", "missed-call", "custom", "silent"]),
  createdAt: z.number(),
  expiresAt: z.number(),
  call: z
    .object({
      callId: z.string(),
      caller: z.string(),
      media: z.enum(["audio", "video"]),
      reason: z.string().optional(),
      answeredBy: z.string().optional(),
      metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    })
    .optional(),
  content: z
    .object({
      title: z.string().optional(),
      body: z.string().optional(),
      data: z.record(z.string(), z.string()).optional(),
      priority: z.enum(["high", "normal"]),
      collapseKey: z.string().optional(),
    })
    .optional(),
}) satisfies z.ZodType<PushNotification>;

const DeviceSchema = z.object({
  deviceId: z.string(),
  userId: z.string(),
  provider: z.enum(["fcm", "apns"]),
  token: z.string(),
  platform: z.enum(["android", "ios", "web"]),
  voipToken: z.string().optional(),
  environment: z.enum(["production", "sandbox"]).optional(),
  appId: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
}) satisfies z.ZodType<Device>;

// Attempts made before the job was queued: /v1/push/send's inline first attempt.
const PriorAttempts = z.number().int().min(0).max(MAX_ATTEMPTS).optional();

export const PushJobSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("fanout"),
    notification: NotificationSchema,
    userIds: z.array(z.string()),
    // A fan-out that failed half-way goes on from here: only devices after this one are queued.
    resumeAfter: z.object({ userId: z.string(), deviceId: z.string() }).optional(),
  }),
  z.object({
    type: z.literal("deliver"),
    notification: NotificationSchema,
    userId: z.string(),
    deviceId: z.string(),
    // The device as the fan-out listed it, so a first attempt needs no KV read (retries re-read).
    device: DeviceSchema.optional(),
    priorAttempts: PriorAttempts,
  }),
  z.object({ type: z.literal("topic"), notification: NotificationSchema, topic: z.string(), priorAttempts: PriorAttempts }),
]);
export type PushJob = z.output<typeof PushJobSchema>;
type FanoutJob = Extract<PushJob, { type: "fanout" }>;

/**
 * Sends in flight at once per invocation. A Worker invocation has at most 6 outbound connections
 * waiting for response headers; more only queue inside the runtime, so 6 is the real ceiling.
 * Throughput beyond it comes from the queue running several consumer invocations at once.
 */
export const SEND_CONCURRENCY = 6;

export interface PushContext {
  env: Env;
  config: Config;
  fetcher: typeof fetch;
}

export type DeviceResult = DeliveryOutcome & { provider: Device["provider"] | "log"; token: string };

/** The dispatcher's context for this environment: config parsed once, the global fetch. */
export function pushContext(env: Env): PushContext {
  return { env, config: getConfig(env), fetcher: (input, init) => fetch(input, init) };
}

/**
 * One attempt to one device, and what it means: a dead token is removed here. A provider with
 * no credentials configured is the log provider: the push is written as a structured log line.
 */
export async function deliverToDevice(push: PushContext, notification: PushNotification, device: Device): Promise<DeviceResult> {
  const now = Date.now();
  if (now >= notification.expiresAt) return { status: "failed", reason: "expired", provider: device.provider, token: device.token };
  let result: DeviceResult;
  try {
    if (device.provider === "fcm") {
      const fcm = push.config.push.fcm;
      if (!fcm) return logProvider(notification, device, device.token);
      result = { ...(await sendFcm(fcm, fcmMessage(notification, { token: device.token }, now), push.fetcher)), provider: "fcm", token: device.token };
    } else {
      const apns = push.config.push.apns;
      const request = apnsRequest(notification, device, apns?.bundleId ?? "log.only");
      if (!apns) return logProvider(notification, device, request.token);
      result = { ...(await sendApns(push.env, apns, device, request, push.fetcher)), provider: "apns", token: request.token };
    }
  } catch (error) {
    if (error instanceof PayloadTooLarge) return { status: "failed", reason: error.message, provider: device.provider, token: device.token };
    throw error;
  }
  if (result.status === "dead") {
    await removeDeadToken(push.env.DEVICES, device.userId, device.deviceId, result.token, result.reportedAt);
  }
  // Successes are counted by the caller, not logged one by one: a fan-out to 1000 devices would
  // otherwise write 1000 lines. Anything else is logged with what an operator needs.
  if (result.status === "delivered") return result;
  console.log(
    JSON.stringify({
      level: result.status === "failed" ? "error" : "warn",
      event: "push",
      outcome: result.status,
      ...("reason" in result ? { reason: result.reason } : {}),
      provider: result.provider,
      kind: notification.kind,
      notificationId: notification.id,
      userId: device.userId,
      deviceId: device.deviceId,
      token: redact(result.token),
    }),
  );
  return result;
}

function logProvider(notification: PushNotification, device: Device, token: string): DeviceResult {
  console.log(
    JSON.stringify({
      level: "info",
      event: "notification",
      provider: "log",
      kind: notification.kind,
      notificationId: notification.id,
      ...(notification.call ? { callId: notification.call.callId, caller: notification.call.caller } : {}),
      userId: device.userId,
      deviceId: device.deviceId,
      platform: device.platform,
      token: redact(token),
    }),
  );
  return { status: "delivered", provider: "log", token };
}

/** Every device of each user (one KV list per user). */
export async function devicesOf(push: PushContext, userIds: readonly string[]): Promise<Device[]> {
  const devices: Device[] = [];
  for (const userId of new Set(userIds)) devices.push(...(await listDevices(push.env.DEVICES, userId)));
  return devices;
}

/** Queue consumer for `secureconnect-push`: fan-out jobs expand, deliver and topic jobs send once. */
export async function consumePushBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const push = pushContext(env);
  await eachLimited(batch.messages, SEND_CONCURRENCY, async (message) => {
    const parsed = PushJobSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ level: "error", event: "push_job_invalid", messageId: message.id }));
      message.ack();
      return;
    }
    const job = parsed.data;
    if (Date.now() >= job.notification.expiresAt) {
      console.log(JSON.stringify({ level: "info", event: "push_expired", kind: job.notification.kind, notificationId: job.notification.id }));
      message.ack();
      return;
    }
    // This attempt's number over the whole cycle, for the back-off.
    const attempt = message.attempts + (job.type === "fanout" ? 0 : (job.priorAttempts ?? 0));
    try {
      if (job.type === "fanout") {
        await fanOut(push, job, message.attempts);
        message.ack();
        return;
      }
      const result = job.type === "topic" ? await sendToTopic(push, job.notification, job.topic) : await deliverJob(push, job, message.attempts);
      if (result?.status === "retry") message.retry({ delaySeconds: retryDelaySeconds(attempt, result.retryAfterSeconds) });
      else message.ack();
    } catch (error) {
      console.error(JSON.stringify({ level: "error", event: "push_job_error", messageId: message.id, message: String(error) }));
      message.retry({ delaySeconds: retryDelaySeconds(attempt, undefined) });
    }
  });
}

/** A deliver job: the fan-out's snapshot of the device on the first try, KV's current one after. */
async function deliverJob(push: PushContext, job: Extract<PushJob, { type: "deliver" }>, queueAttempts: number): Promise<DeviceResult | undefined> {
  const device = job.device && queueAttempts === 1 ? job.device : await getDevice(push.env.DEVICES, job.userId, job.deviceId);
  // Deleted since: nothing to send.
  if (!device) return undefined;
  return deliverToDevice(push, job.notification, device);
}

/** One FCM topic message (FCM reaches the topic's devices itself). Without FCM, nothing to do. */
export async function sendToTopic(push: PushContext, notification: PushNotification, topic: string): Promise<DeliveryOutcome | undefined> {
  const fcm = push.config.push.fcm;
  if (!fcm) return undefined;
  const result = await sendFcm(fcm, fcmMessage(notification, { topic }, Date.now()), push.fetcher);
  if (result.status !== "delivered") {
    console.log(
      JSON.stringify({
        level: result.status === "retry" ? "warn" : "error",
        event: "push_topic",
        outcome: result.status,
        ...("reason" in result ? { reason: result.reason } : {}),
        kind: notification.kind,
        notificationId: notification.id,
        topic,
      }),
    );
  }
  return result;
}

/**
 * Expands a fan-out into deliver jobs, 100 per `sendBatch`. Devices go in a fixed order (users as
 * listed, then device keys in KV's order). When a `sendBatch` fails after some were queued, the
 * rest goes on as a new fan-out that resumes after the last queued device — a plain retry would
 * queue, and ring, the first ones twice.
 */
async function fanOut(push: PushContext, job: FanoutJob, queueAttempts: number): Promise<void> {
  const all = await devicesOf(push, job.userIds);
  const devices = job.resumeAfter ? all.filter(isAfter(job.userIds, job.resumeAfter)) : all;
  let queued = 0;
  try {
    await enqueueDeliveries(push.env, job.notification, devices, { snapshot: true, onQueued: (count) => (queued += count) });
  } catch (error) {
    if (queued === 0) throw error;
    const last = devices[queued - 1]!;
    const resumeAfter = { userId: last.userId, deviceId: last.deviceId };
    await push.env.PUSH_QUEUE.send({ ...job, resumeAfter } satisfies PushJob, { delaySeconds: retryDelaySeconds(queueAttempts, undefined) });
    console.error(JSON.stringify({ level: "error", event: "push_fanout_resumed", notificationId: job.notification.id, queued, left: devices.length - queued, message: String(error) }));
    return;
  }
  console.log(JSON.stringify({ level: "info", event: "push_fanout", kind: job.notification.kind, notificationId: job.notification.id, devices: devices.length }));
}

/** Whether a device comes after `mark` in the fan-out's order. */
function isAfter(userIds: readonly string[], mark: { userId: string; deviceId: string }): (device: Device) => boolean {
  const order = [...new Set(userIds)];
  const markUser = order.indexOf(mark.userId);
  return (device) => {
    const user = order.indexOf(device.userId);
    return user > markUser || (user === markUser && device.deviceId > mark.deviceId);
  };
}

/** Queue consumer for the dead-letter queue: what could not be delivered is logged, then dropped. */
export function consumeDeadLetters(batch: MessageBatch<unknown>): void {
  for (const message of batch.messages) {
    const job = PushJobSchema.safeParse(message.body);
    console.error(
      JSON.stringify({
        level: "error",
        event: "push_dead_letter",
        messageId: message.id,
        ...(job.success
          ? {
              kind: job.data.notification.kind,
              notificationId: job.data.notification.id,
              ...(job.data.type === "deliver" ? { userId: job.data.userId, deviceId: job.data.deviceId } : {}),
              ...(job.data.type === "topic" ? { topic: job.data.topic } : {}),
            }
          : {}),
      }),
    );
    message.ack();
  }
}

/**
 * One deliver job per device, in batches of 100 (the queue's limit per sendBatch). `snapshot`
 * puts the device itself in the job; `priorAttempts` counts attempts already made; `onQueued`
 * hears how many jobs each batch queued (a failure part-way leaves the first ones queued).
 */
export async function enqueueDeliveries(
  env: Env,
  notification: PushNotification,
  devices: Device[],
  options: { delaySeconds?: number; priorAttempts?: number; snapshot?: boolean; onQueued?: (count: number) => void } = {},
): Promise<void> {
  for (let start = 0; start < devices.length; start += 100) {
    const batch = devices.slice(start, start + 100);
    await env.PUSH_QUEUE.sendBatch(
      batch.map((device) => ({
        body: {
          type: "deliver",
          notification,
          userId: device.userId,
          deviceId: device.deviceId,
          ...(options.snapshot ? { device } : {}),
          ...(options.priorAttempts ? { priorAttempts: options.priorAttempts } : {}),
        } satisfies PushJob,
        ...(options.delaySeconds ? { delaySeconds: options.delaySeconds } : {}),
      })),
    );
    options.onQueued?.(batch.length);
  }
}

/** Runs `task` over `items` with at most `limit` at once. */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
