/**
 * The Worker as the Workers tests run it: src/index.ts as deployed, except that each call room
 * also keeps the notices it hands to its notifier, so tests assert what a room decided (who is
 * told what, once) as data rather than log text, and can make its notifier or its participants'
 * lines refuse for a while, or its call limiter answer late. The notices still go on to the real
 * push queue and the snapshots to the real lines, and the limiter is the real binding, so call →
 * push and call → line tests see real deliveries.
 */
import type { CallNotice } from "../../src/calls/call-notice";
import { userLines } from "../../src/calls/line";
import type { LineCall } from "../../src/calls/machine";
import type { Lines, Notifier } from "../../src/calls/ports";
import { CallRoom as Room } from "../../src/calls/room";
import { QueueNotifier } from "../../src/push/queue-notifier";

export { AlertMonitor, ApnsProviderToken, default, DeviceRoster, MetricsRollup, TurnFleet, UserLine } from "../../src/index";

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

  private held: Promise<void> | undefined;

  /** Sends wait until the returned function is called, the way a slow queue keeps them. */
  hold(): () => void {
    let release!: () => void;
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = undefined;
      release();
    };
  }

  private refusing: string | undefined;

  /** From now on, says it could not carry any notice, for `reason`. */
  refuseWith(reason: string): void {
    this.refusing = reason;
  }

  refusal(notices: readonly CallNotice[]): string | undefined {
    return this.refusing ?? this.next.refusal(notices);
  }

  async notify(notices: readonly CallNotice[]): Promise<void> {
    this.attempts++;
    await this.held;
    if (this.failures > 0) {
      this.failures--;
      throw new Error("Queue send failed: service unavailable");
    }
    this.notices.push(...notices);
    await this.next.notify(notices);
  }
}

/** The participants' real lines, able to refuse the next few snapshots. */
class FlakyLines implements Lines {
  attempts = 0;
  private failures = 0;

  constructor(private readonly next: Lines) {}

  /** The next `count` snapshot sends fail the way an unreachable Durable Object does. */
  failNext(count: number): void {
    this.failures = count;
  }

  async record(userId: string, call: LineCall): Promise<void> {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error("Durable Object unreachable");
    }
    await this.next.record(userId, call);
  }
}

/** Callers whose call-limit answers wait until released (see {@link holdCallLimit}). */
const heldCallLimits = new Map<string, Promise<void>>();

/**
 * From now on the call limiter answers for `caller`'s calls only once the returned function is
 * called, the way a slow limiter does; it still counts them in the real (simulated) binding.
 */
export function holdCallLimit(caller: string): () => void {
  let release!: () => void;
  heldCallLimits.set(caller, new Promise((resolve) => (release = resolve)));
  return () => {
    heldCallLimits.delete(caller);
    release();
  };
}

const heldLimiter = (next: RateLimit): RateLimit => ({
  async limit(options) {
    await heldCallLimits.get(options.key);
    return next.limit(options);
  },
});

/** The call room, with the notices of this instance's life in `recorder.notices`. */
export class CallRoom extends Room {
  readonly recorder: RecordingNotifier;
  readonly lines: FlakyLines;

  constructor(ctx: DurableObjectState, env: Env) {
    const recorder = new RecordingNotifier(new QueueNotifier(env.PUSH_QUEUE));
    const lines = new FlakyLines(userLines(env.USER_LINE));
    super(ctx, { ...env, CALLS_RATE_LIMIT: heldLimiter(env.CALLS_RATE_LIMIT) }, { notifier: recorder, lines });
    this.recorder = recorder;
    this.lines = lines;
  }
}
