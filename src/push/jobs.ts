import { z } from "zod";
import { DeviceSchema, type Device } from "../devices/device";
import { DeviceRemovedJobSchema, DeviceRetokenedJobSchema } from "../devices/announcements";
import { NotificationSchema, type PushNotification } from "./push-notification";
import { MAX_ATTEMPTS } from "./outcome";

/**
 * The push queue's jobs. A notification for users becomes one job per device, each sent once and
 * retried on its own, so a failure on one device never re-rings another:
 *
 *   fanout {notification, userIds} ──▶ deliver {notification, userId, deviceId, device} × N
 *   deliver ──▶ FCM / APNs (or the log provider) ──▶ delivered | dead (token removed)
 *                                                  | retry (queue retry with back-off) | failed
 *   topic {notification, topic, app?} ──▶ one app's FCM topic message (a retry of /v1/push/send's topic send)
 *   topic-members {notification, topic, cursor?} ──▶ deliver × (one KV page) + topic-members {next cursor}
 *   device-removed {device, cursor?} ──▶ forget-membership × (one KV page of its topics) + device-removed {next cursor}
 *   forget-membership {device, topic} ──▶ its two KV keys, and its FCM token at the Instance ID API
 *   device-retokened {device, registeredAt, cursor?} ──▶ move-membership × (one KV page of its topics) + device-retokened {next cursor}
 *   move-membership {device, topic, registeredAt} ──▶ the device's new FCM token joins the topic at FCM, the old one leaves
 *
 * Exhausted retries go to the dead-letter queue; expired notifications are dropped.
 *
 * Every job is sized so that one consumer invocation (a batch of up to 100 messages, see
 * wrangler.toml) stays under Workers KV's 1,000 operations per invocation, at most 8 operations
 * per message, 800 per batch:
 * - fanout: lists at most {@link FANOUT_USERS_PER_JOB} users (one `list` each; a user has at
 *   most 20 devices, the cap their DeviceRoster holds);
 * - topic-members, device-removed, device-retokened: one `list` page each;
 * - deliver: reads its device at most once, and removes a dead token with at most five more (two
 *   reads and three deletes at most); the device's topics are not touched there: the removal queues
 *   a device-removed job (a queue send, no KV), so a device in 100 topics costs the delivery nothing;
 * - forget-membership: at most six (read its membership, delete it and the topic's member key,
 *   read who holds the token now, whether they joined the topic themselves, and at which app);
 * - move-membership: at most six (read the device and its membership, the device again after the
 *   FCM call, then who holds a token to take out, whether they joined the topic, and at which app).
 */

/** Users per fan-out job: one KV `list` each. */
export const FANOUT_USERS_PER_JOB = 8;

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
    // A topic's member: skipped when its provider has topics (its app's FCM sent it the topic message).
    reachedByTopics: z.literal(true).optional(),
    // Jobs queued before apps existed: only a device of this provider gets it.
    onlyProvider: z.enum(["fcm", "apns"]).optional(),
    // Only the device of this generation (`createdAt`) gets it: a topic member, not a later device under its id.
    generation: z.string().optional(),
    priorAttempts: PriorAttempts,
  }),
  // A retry of one app's FCM topic message (absent: the default app).
  z.object({ type: z.literal("topic"), notification: NotificationSchema, topic: z.string(), app: z.string().optional(), priorAttempts: PriorAttempts }),
  z.object({
    type: z.literal("topic-members"),
    notification: NotificationSchema,
    topic: z.string(),
    // Where in the topic's KV listing this job starts (absent: the beginning).
    cursor: z.string().optional(),
    reachedByTopics: z.literal(true).optional(),
    // Jobs queued before apps existed (see deliver).
    onlyProvider: z.enum(["fcm", "apns"]).optional(),
  }),
  DeviceRemovedJobSchema,
  z.object({ type: z.literal("forget-membership"), device: DeviceSchema, topic: z.string() }),
  DeviceRetokenedJobSchema,
  // `device` as it was before it re-registered: its old token leaves the topic at FCM, the new one joins.
  z.object({ type: z.literal("move-membership"), device: DeviceSchema, topic: z.string(), registeredAt: z.string() }),
]);

export type PushJob = z.output<typeof PushJobSchema>;
export type FanoutJob = Extract<PushJob, { type: "fanout" }>;
export type DeliverJob = Extract<PushJob, { type: "deliver" }>;
export type TopicMembersJob = Extract<PushJob, { type: "topic-members" }>;
export type ForgetMembershipJob = Extract<PushJob, { type: "forget-membership" }>;
export type MoveMembershipJob = Extract<PushJob, { type: "move-membership" }>;

/** The fan-out messages for `userIds`: {@link FANOUT_USERS_PER_JOB} users each. */
export function fanoutMessages(notification: PushNotification, userIds: readonly string[]): MessageSendRequest<PushJob>[] {
  const unique = [...new Set(userIds)];
  const messages: MessageSendRequest<PushJob>[] = [];
  for (let start = 0; start < unique.length; start += FANOUT_USERS_PER_JOB) {
    messages.push({ body: { type: "fanout", notification, userIds: unique.slice(start, start + FANOUT_USERS_PER_JOB) } });
  }
  return messages;
}

/** Sends `messages` in batches of the queue's limit (100). */
export async function sendAll(queue: Queue, messages: readonly MessageSendRequest<PushJob>[]): Promise<void> {
  for (let start = 0; start < messages.length; start += QUEUE_BATCH) await queue.sendBatch(messages.slice(start, start + QUEUE_BATCH));
}

/** The queue's limit per `sendBatch`. */
const QUEUE_BATCH = 100;

/**
 * One deliver job per device, in batches of 100. `snapshot` puts the device itself in the job;
 * `priorAttempts` counts attempts already made; `onQueued` hears how many jobs each batch queued
 * (a failure part-way leaves the first ones queued).
 */
export async function enqueueDeliveries(
  queue: Queue,
  notification: PushNotification,
  devices: readonly Device[],
  options: { delaySeconds?: number; priorAttempts?: number; snapshot?: boolean; onQueued?: (count: number) => void } = {},
): Promise<void> {
  for (let start = 0; start < devices.length; start += QUEUE_BATCH) {
    const batch = devices.slice(start, start + QUEUE_BATCH);
    await queue.sendBatch(
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
