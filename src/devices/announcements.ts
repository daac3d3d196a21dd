import { z } from "zod";
import { log } from "../platform/log";
import { DeviceSchema, redact, type Device } from "./device";

/**
 * What the device store tells the push layer, as jobs on the push queue, about a device's topic
 * memberships (push/topics.ts consumes them). The store announces; it does not act inline, because
 * a device's topics can be many and a dead token is found inside a deliver job whose KV budget has
 * no room for them. Each job names the device as it was, and walks its memberships a page at a time
 * (`cursor`: where in the listing this job starts; absent: the beginning).
 *
 * - `device-removed`: the device left (deleted, evicted by the cap, its token dead or moved to
 *   another user): it leaves every topic it joined, in KV and at FCM.
 * - `device-retokened`: the device registered again with another FCM token, app or provider: its
 *   memberships stay, and FCM's topics follow the device (its new token subscribed, the old one
 *   unsubscribed), since a topic message reaches FCM devices only through FCM's own subscriptions.
 */
export const DeviceRemovedJobSchema = z.object({ type: z.literal("device-removed"), device: DeviceSchema, cursor: z.string().optional() });
export type DeviceRemovedJob = z.output<typeof DeviceRemovedJobSchema>;

// `registeredAt`: the re-registration's `updatedAt`, so a consumer whose KV still shows an older device waits for it.
export const DeviceRetokenedJobSchema = z.object({ type: z.literal("device-retokened"), device: DeviceSchema, registeredAt: z.string(), cursor: z.string().optional() });
export type DeviceRetokenedJob = z.output<typeof DeviceRetokenedJobSchema>;

/**
 * Queues the clean-up of `device`'s topics. A queue that refuses is logged, not thrown: the
 * device is already gone, and a topic send never reaches a later device under the same id (its
 * membership names the device's `createdAt`), so what is left behind is a stale key, not a push
 * to the wrong phone.
 */
export async function announceRemoval(queue: Queue, device: Device): Promise<void> {
  await announce(queue, { type: "device-removed", device }, "device_cleanup_unqueued");
}

/**
 * Queues moving `before`'s FCM topic subscriptions to the device as it is now, when re-registering
 * changed what FCM knows it by (`fcmIdentity`). Logged, not thrown, when the queue refuses: the
 * registration stands, and the error line names the device whose FCM topics lag behind.
 */
export async function announceRetoken(queue: Queue, before: Device, after: Device): Promise<void> {
  if (fcmIdentity(before) === fcmIdentity(after)) return;
  await announce(queue, { type: "device-retokened", device: before, registeredAt: after.updatedAt }, "device_topics_unmoved");
}

/** What FCM's topic subscriptions know a device by: its token at its app's project (none off FCM). */
export const fcmIdentity = (device: Device): string | undefined => (device.provider === "fcm" ? `${device.app}\n${device.token}` : undefined);

async function announce(queue: Queue, job: DeviceRemovedJob | DeviceRetokenedJob, failure: string): Promise<void> {
  try {
    await queue.send(job);
  } catch (error) {
    const { device } = job;
    log("error", failure, { userId: device.userId, deviceId: device.deviceId, token: redact(device.token), message: String(error) });
  }
}
