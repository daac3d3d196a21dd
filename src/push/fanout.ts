import type { Device } from "../devices/device";
import { listDevices } from "../devices/store";
import { log } from "../platform/log";
import type { PushContext } from "./context";
import { enqueueDeliveries, type FanoutJob, type PushJob } from "./jobs";
import { retryDelaySeconds } from "./outcome";

/** Every device of each user (one KV list per user). */
export async function devicesOf(push: PushContext, userIds: readonly string[]): Promise<Device[]> {
  const devices: Device[] = [];
  for (const userId of new Set(userIds)) devices.push(...(await listDevices(push.env.DEVICES, userId)));
  return devices;
}

/**
 * Expands a fan-out into deliver jobs, 100 per `sendBatch`. Devices go in a fixed order (users as
 * listed, then device keys in KV's order). When a `sendBatch` fails after some were queued, the
 * rest goes on as a new fan-out that resumes after the last queued device — a plain retry would
 * queue, and ring, the first ones twice.
 */
export async function fanOut(push: PushContext, job: FanoutJob, queueAttempts: number): Promise<void> {
  const all = await devicesOf(push, job.userIds);
  const devices = job.resumeAfter ? all.filter(isAfter(job.userIds, job.resumeAfter)) : all;
  let queued = 0;
  try {
    await enqueueDeliveries(push.env.PUSH_QUEUE, job.notification, devices, { snapshot: true, onQueued: (count) => (queued += count) });
  } catch (error) {
    if (queued === 0) throw error;
    const last = devices[queued - 1]!;
    const resumeAfter = { userId: last.userId, deviceId: last.deviceId };
    await push.env.PUSH_QUEUE.send({ ...job, resumeAfter } satisfies PushJob, { delaySeconds: retryDelaySeconds(queueAttempts, undefined) });
    log("error", "push_fanout_resumed", { notificationId: job.notification.id, queued, left: devices.length - queued, message: String(error) });
    return;
  }
  log("info", "push_fanout", { kind: job.notification.kind, notificationId: job.notification.id, devices: devices.length });
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
