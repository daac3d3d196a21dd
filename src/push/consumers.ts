import { getDevice } from "../devices/store";
import { record } from "../metrics/recorder";
import { eachLimited } from "../platform/concurrency";
import { log } from "../platform/log";
import { pushContext, SEND_CONCURRENCY, type PushContext } from "./context";
import { deliverToDevice, sendToTopic, type DeviceResult } from "./delivery";
import { fanOut, fanOutTopicPage } from "./fanout";
import { PushJobSchema, type DeliverJob } from "./jobs";
import { retryDelaySeconds } from "./outcome";
import { forgetMembership, KV_CATCH_UP_SECONDS, moveMembership, walkMembershipPage } from "./topics";

/** Queue consumer for `secureconnect-push`: fan-out jobs expand, deliver and topic jobs send once. */
export async function consumePushBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const push = pushContext(env);
  await eachLimited(batch.messages, SEND_CONCURRENCY, async (message) => {
    const parsed = PushJobSchema.safeParse(message.body);
    if (!parsed.success) {
      log("error", "push_job_invalid", { messageId: message.id });
      message.ack();
      return;
    }
    const job = parsed.data;
    try {
      if (job.type === "device-removed" || job.type === "device-retokened") {
        await walkMembershipPage(push, job);
        message.ack();
        return;
      }
      if (job.type === "forget-membership" || job.type === "move-membership") {
        const outcome = job.type === "forget-membership" ? await forgetMembership(push, job) : await moveMembership(push, job);
        if (outcome === "retry") message.retry({ delaySeconds: retryDelaySeconds(message.attempts, undefined) });
        else if (outcome === "stale") message.retry({ delaySeconds: KV_CATCH_UP_SECONDS });
        else message.ack();
        return;
      }
    } catch (error) {
      log("error", "push_job_error", { messageId: message.id, type: job.type, message: String(error) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, undefined) });
      return;
    }
    if (Date.now() >= job.notification.expiresAt) {
      log("info", "push_expired", { kind: job.notification.kind, notificationId: job.notification.id });
      message.ack();
      return;
    }
    // This attempt's number over the whole cycle, for the back-off.
    const attempt = message.attempts + (job.type === "fanout" || job.type === "topic-members" ? 0 : (job.priorAttempts ?? 0));
    try {
      if (job.type === "fanout") {
        await fanOut(push, job, message.attempts);
        message.ack();
        return;
      }
      if (job.type === "topic-members") {
        await fanOutTopicPage(push, job);
        message.ack();
        return;
      }
      const result = job.type === "topic" ? await sendToTopic(push, job.notification, job.topic, job.app) : await deliverJob(push, job, message.attempts);
      if (result?.status === "retry") {
        message.retry({ delaySeconds: retryDelaySeconds(attempt, result.retryAfterSeconds) });
        record(env, { type: "queue", action: "retry", job: job.type, kind: job.notification.kind });
      } else message.ack();
    } catch (error) {
      log("error", "push_job_error", { messageId: message.id, message: String(error) });
      message.retry({ delaySeconds: retryDelaySeconds(attempt, undefined) });
      record(env, { type: "queue", action: "retry", job: job.type, kind: job.notification.kind });
    }
  });
}

/** A deliver job: the fan-out's snapshot of the device on the first try, KV's current one after. */
async function deliverJob(push: PushContext, job: DeliverJob, queueAttempts: number): Promise<DeviceResult | undefined> {
  const device = job.device && queueAttempts === 1 ? job.device : await getDevice(push.env.DEVICES, job.userId, job.deviceId);
  // Deleted since: nothing to send. Of another provider than asked: reached some other way. Of
  // another generation: a later device under the id of a topic member, which joined nothing.
  if (!device || (job.onlyProvider && device.provider !== job.onlyProvider)) return undefined;
  if (job.reachedByTopics && push.provider(device.provider, device.app).topics) return undefined;
  if (job.generation && device.createdAt !== job.generation) return undefined;
  return deliverToDevice(push, job.notification, device);
}

/** Queue consumer for the dead-letter queue: what could not be delivered is logged, then dropped. */
export function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): void {
  for (const message of batch.messages) {
    const job = PushJobSchema.safeParse(message.body);
    record(env, { type: "queue", action: "dead-letter", job: job.success ? job.data.type : "invalid", ...(job.success && "notification" in job.data ? { kind: job.data.notification.kind } : {}) });
    log("error", "push_dead_letter", {
      messageId: message.id,
      ...(job.success
        ? "notification" in job.data
          ? {
              kind: job.data.notification.kind,
              notificationId: job.data.notification.id,
              ...(job.data.type === "deliver" ? { userId: job.data.userId, deviceId: job.data.deviceId } : {}),
              ...(job.data.type === "topic" ? { topic: job.data.topic } : {}),
            }
          : { type: job.data.type, userId: job.data.device.userId, deviceId: job.data.device.deviceId }
        : {}),
    });
    message.ack();
  }
}
