import { z } from "zod";
import { getConfig, type Config } from "../config";
import { getDevice, listDevices, redact, removeDeadToken, type Device } from "../devices/store";
import { sendApns } from "./apns";
import { sendFcm } from "./fcm";
import { apnsRequest, fcmMessage, PayloadTooLarge } from "./messages";
import type { PushNotification } from "./notifications";
import { retryDelaySeconds, type DeliveryOutcome } from "./outcome";

/**
 * Delivery: a notification for users becomes one queue job per device, each sent once and
 * retried on its own, so a failure on one device never re-rings another.
 *
 *   fanout {notification, userIds} ──▶ deliver {notification, userId, deviceId} × N
 *   deliver ──▶ FCM / APNs (or the log provider) ──▶ delivered | dead (token removed)
 *                                                  | retry (queue retry with back-off) | failed
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

export const PushJobSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("fanout"), notification: NotificationSchema, userIds: z.array(z.string()) }),
  z.object({ type: z.literal("deliver"), notification: NotificationSchema, userId: z.string(), deviceId: z.string() }),
]);
export type PushJob = z.output<typeof PushJobSchema>;

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

/** Queue consumer for `secureconnect-push`: fan-out jobs expand, deliver jobs send once. */
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
    try {
      if (job.type === "fanout") {
        const devices = await devicesOf(push, job.userIds);
        await enqueueDeliveries(env, job.notification, devices);
        console.log(
          JSON.stringify({ level: "info", event: "push_fanout", kind: job.notification.kind, notificationId: job.notification.id, devices: devices.length }),
        );
        message.ack();
        return;
      }
      const device = await getDevice(env.DEVICES, job.userId, job.deviceId);
      if (!device) {
        message.ack();
        return;
      }
      const result = await deliverToDevice(push, job.notification, device);
      if (result.status === "retry") message.retry({ delaySeconds: retryDelaySeconds(message.attempts, result.retryAfterSeconds) });
      else message.ack();
    } catch (error) {
      console.error(JSON.stringify({ level: "error", event: "push_job_error", messageId: message.id, message: String(error) }));
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, undefined) });
    }
  });
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
          ? { kind: job.data.notification.kind, notificationId: job.data.notification.id, ...(job.data.type === "deliver" ? { userId: job.data.userId, deviceId: job.data.deviceId } : {}) }
          : {}),
      }),
    );
    message.ack();
  }
}

/** One deliver job per device, in batches of 100 (the queue's limit per sendBatch). */
export async function enqueueDeliveries(env: Env, notification: PushNotification, devices: Device[], delaySeconds?: number): Promise<void> {
  for (let start = 0; start < devices.length; start += 100) {
    await env.PUSH_QUEUE.sendBatch(
      devices.slice(start, start + 100).map((device) => ({
        body: { type: "deliver", notification, userId: device.userId, deviceId: device.deviceId } satisfies PushJob,
        ...(delaySeconds ? { delaySeconds } : {}),
      })),
    );
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
