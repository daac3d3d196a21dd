import { z } from "zod";
import { log } from "../platform/log";
import { DeviceSchema, redact, type Device } from "./device";

/**
 * A device that left (deleted, evicted by the cap, its token dead or moved to another user), as a
 * job on the push queue: its consumer (push/topics.ts) takes the device out of every topic it
 * joined, in KV and at FCM. The store announces; it does not clean up inline, because a dead
 * token is found inside a deliver job whose KV budget has no room for a device's topics.
 */
export const DeviceRemovedJobSchema = z.object({
  type: z.literal("device-removed"),
  device: DeviceSchema,
  // Where in the device's membership listing this job starts (absent: the beginning).
  cursor: z.string().optional(),
});
export type DeviceRemovedJob = z.output<typeof DeviceRemovedJobSchema>;

/**
 * Queues the clean-up of `device`'s topics. A queue that refuses is logged, not thrown: the
 * device is already gone, and a topic send never reaches a later device under the same id (its
 * membership names the device's `createdAt`), so what is left behind is a stale key, not a push
 * to the wrong phone.
 */
export async function announceRemoval(queue: Queue, device: Device): Promise<void> {
  try {
    await queue.send({ type: "device-removed", device } satisfies DeviceRemovedJob);
  } catch (error) {
    log("error", "device_cleanup_unqueued", { userId: device.userId, deviceId: device.deviceId, token: redact(device.token), message: String(error) });
  }
}
