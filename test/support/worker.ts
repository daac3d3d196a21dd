/**
 * The Worker as the Workers tests run it: src/index.ts as deployed, except that each call room
 * also keeps the notices it hands to its notifier, so tests assert what a room decided (who is
 * told what, once) as data rather than log text, and can make its notifier or its participants'
 * lines refuse for a while. The notices still go on to the real push queue and the snapshots to
 * the real lines, so call → push and call → line tests see real deliveries.
 */
import type { CallNotice, Notifier } from "../../src/calls/call-notice";
import { CallRoom as Room } from "../../src/calls/room";
import { QueueNotifier } from "../../src/push/queue-notifier";

export { ApnsProviderToken, default, DeviceRoster, UserLine } from "../../src/index";

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

/** The participants' lines as the room reaches them, able to refuse the next few snapshots. */
class FlakyLines {
  attempts = 0;
  private failures = 0;

  constructor(private readonly lines: Env["USER_LINE"]) {}

  /** The next `count` snapshot sends fail the way an unreachable Durable Object does. */
  failNext(count: number): void {
    this.failures = count;
  }

  /** `env.USER_LINE` for the room: the real namespace, whose stubs' `record` may fail first. */
  namespace(): Env["USER_LINE"] {
    return new Proxy(this.lines, {
      get: (target, property) => {
        if (property !== "get") return own(target, property);
        return (id: DurableObjectId) => {
          const stub = target.get(id);
          return new Proxy(stub, {
            get: (inner, name) => {
              if (name !== "record") return own(inner, name);
              return async (...args: Parameters<typeof stub.record>) => {
                this.attempts++;
                if (this.failures > 0) {
                  this.failures--;
                  throw new Error("Durable Object unreachable");
                }
                return inner.record(...args);
              };
            },
          });
        };
      },
    });
  }
}

/** A property of a runtime object, its methods bound to it (they refuse any other `this`). */
function own(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === "function" ? value.bind(target) : value;
}

/** The call room, with the notices of this instance's life in `recorder.notices`. */
export class CallRoom extends Room {
  readonly recorder: RecordingNotifier;
  readonly lines: FlakyLines;

  constructor(ctx: DurableObjectState, env: Env) {
    const recorder = new RecordingNotifier(new QueueNotifier(env.PUSH_QUEUE));
    const lines = new FlakyLines(env.USER_LINE);
    super(ctx, { ...env, USER_LINE: lines.namespace() }, recorder);
    this.recorder = recorder;
    this.lines = lines;
  }
}
