import type { Device } from "../devices/device";
import { listDevices } from "../devices/store";
import { log } from "../platform/log";
import type { PushContext } from "./context";
import { enqueueDeliveries, type FanoutJob, type PushJob, type TopicMembersJob } from "./jobs";
import { MEMBERS_PER_PAGE, topicMembersPage } from "./topics";
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

/**
 * One page of a topic's members: a deliver job for each (the device is read when it is sent,
 * skipped when its app's FCM reached it with the topic message), then the job for the next page. One KV `list` per job,
 * however large the topic. Queueing the next page last means a failure part-way is retried from
 * this page: a member may then get the notification twice, never not at all.
 */
export async function fanOutTopicPage(push: PushContext, job: TopicMembersJob): Promise<void> {
  const page = await topicMembersPage(push.env.DEVICES, job.topic, job.cursor);
  if (page.members.length > 0) {
    await push.env.PUSH_QUEUE.sendBatch(
    page.members.map((member) => ({
      body: {
        type: "deliver",
        notification: job.notification,
        userId: member.userId,
        deviceId: member.deviceId,
          ...(job.reachedByTopics ? { reachedByTopics: true as const } : {}),
          ...(job.onlyProvider ? { onlyProvider: job.onlyProvider } : {}),
          ...(member.generation ? { generation: member.generation } : {}),
        } satisfies PushJob,
      })),
    );
  }
  if (page.cursor) await push.env.PUSH_QUEUE.send({ ...job, cursor: page.cursor } satisfies PushJob);
  log("info", "push_topic_page", { notificationId: job.notification.id, topic: job.topic, members: page.members.length, more: page.cursor !== undefined, pageSize: MEMBERS_PER_PAGE });
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
