/**
 * The Worker as the Workers tests run it: src/index.ts as deployed, except that each call room
 * also keeps the notices it hands to its notifier, so tests assert what a room decided (who is
 * told what, once) as data rather than log text. The notices still go on to the real push
 * queue, so call → push tests see real deliveries.
 */
import type { CallNotice, Notifier } from "../../src/calls/notice";
import { CallRoom as Room } from "../../src/calls/room";
import { QueueNotifier } from "../../src/push/notifier";

export { ApnsProviderToken, default, UserLine } from "../../src/index";

/** A notifier that remembers every notice it accepts, then passes it on; it can be told to fail. */
class RecordingNotifier implements Notifier {
  readonly notices: CallNotice[] = [];
  attempts = 0;
  private failures = 0;

  constructor(private readonly next: Notifier) {}

  /** The next `count` sends fail the way an unavailable queue does. */
  failNext(count: number): void {
    this.failures = count;
  }

  async notify(notices: readonly CallNotice[]): Promise<void> {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error("Queue send failed: service unavailable");
    }
    this.notices.push(...notices);
    await this.next.notify(notices);
  }
}

/** The call room, with the notices of this instance's life in `recorder.notices`. */
export class CallRoom extends Room {
  readonly recorder: RecordingNotifier;

  constructor(ctx: DurableObjectState, env: Env) {
    const recorder = new RecordingNotifier(new QueueNotifier(env.PUSH_QUEUE));
    super(ctx, env, recorder);
    this.recorder = recorder;
  }
}
