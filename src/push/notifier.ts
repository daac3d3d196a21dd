import { fromCallNotification, type CallNotification, type Notifier } from "./notifications";
import type { PushJob } from "./dispatch";

/**
 * Hands a call's notifications to the push queue, one fan-out job each. The room returns as soon
 * as the queue has them: sending, retries and dead tokens happen in the consumer, and a job
 * survives the Worker or the room going away mid-send.
 */
export class QueueNotifier implements Notifier {
  constructor(private readonly queue: Queue<PushJob>) {}

  async notify(notifications: readonly CallNotification[]): Promise<void> {
    await this.queue.sendBatch(
      notifications.map((notification) => ({
        body: { type: "fanout", notification: fromCallNotification(notification), userIds: notification.recipients } satisfies PushJob,
      })),
    );
  }
}

/** The notifier of this environment: the push queue (providers, or the log provider without credentials). */
export function notifierFor(env: Env): Notifier {
  return new QueueNotifier(env.PUSH_QUEUE as Queue<PushJob>);
}
