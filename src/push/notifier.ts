import type { CallNotice, Notifier } from "../calls/notice";
import type { PushJob } from "./jobs";
import { fromCallNotice } from "./notifications";

/**
 * The calls layer's {@link Notifier}, on the push queue: one fan-out job per notice. The room
 * returns as soon as the queue has them: sending, retries and dead tokens happen in the
 * consumer, and a job survives the Worker or the room going away mid-send.
 */
export class QueueNotifier implements Notifier {
  constructor(private readonly queue: Queue) {}

  async notify(notices: readonly CallNotice[]): Promise<void> {
    await this.queue.sendBatch(
      notices.map((notice) => ({
        body: { type: "fanout", notification: fromCallNotice(notice), userIds: notice.recipients } satisfies PushJob,
      })),
    );
  }
}
