import type { CallNotice } from "../calls/call-notice";
import type { Notifier } from "../calls/ports";
import { fanoutMessages, sendAll } from "./jobs";
import { tooLargeForSomeDevice } from "./payloads";
import { fromCallNotice } from "./push-notification";

/**
 * The calls layer's {@link Notifier}, on the push queue: fan-out jobs for each notice's recipients
 * (a few users per job, see jobs.ts). The room returns as soon as the queue has them: sending,
 * retries and dead tokens happen in the consumer, and a job survives the Worker or the room going
 * away mid-send.
 */
export class QueueNotifier implements Notifier {
  constructor(private readonly queue: Queue) {}

  async notify(notices: readonly CallNotice[]): Promise<void> {
    await sendAll(
      this.queue,
      notices.flatMap((notice) => fanoutMessages(fromCallNotice(notice), notice.recipients)),
    );
  }

  refusal(notices: readonly CallNotice[]): string | undefined {
    for (const notice of notices) {
      const problem = tooLargeForSomeDevice(fromCallNotice(notice), notice.at);
      if (problem) return problem;
    }
    return undefined;
  }
}
