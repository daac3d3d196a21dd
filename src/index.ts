import { app } from "./api";
import { userLines } from "./calls/line";
import { CallRoom as Room } from "./calls/room";
import { runAlerts } from "./ops/alerts";
import { consumeDeadLetters, consumePushBatch } from "./push/consumers";
import { QueueNotifier } from "./push/queue-notifier";
import { probeTurnFleet } from "./turn/fleet";

/**
 * What the cron trigger (every minute, wrangler.toml) runs: each job on its own, none waiting for
 * another; each logs its own failures.
 */
const SCHEDULED_JOBS: ((env: Env, at: number) => Promise<unknown>)[] = [probeTurnFleet, runAlerts];

/**
 * The Worker: the HTTP API, the push queue's consumers, the cron jobs, and the Durable Object
 * classes. This is where the layers meet: the call room gets its ports (the push queue for
 * people's devices, the users' lines for their open tabs) here, and nowhere else.
 */
export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) consumeDeadLetters(batch, env);
    else await consumePushBatch(batch, env);
  },
  scheduled(controller, env, ctx) {
    for (const job of SCHEDULED_JOBS) ctx.waitUntil(job(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;

/** One call's room (calls/room.ts), telling people who are not on its socket through the push queue and their lines. */
export class CallRoom extends Room {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, { notifier: new QueueNotifier(env.PUSH_QUEUE), lines: userLines(env.USER_LINE) });
  }
}

export { ApnsProviderToken } from "./push/apns-auth";
export { UserLine } from "./calls/line";
export { TurnFleet } from "./turn/fleet";
export { MetricsRollup } from "./metrics/rollup-store";
export { AlertMonitor } from "./ops/alerts";
export { DeviceRoster } from "./devices/roster";

/** Every environment names its dead-letter queue "<queue>-dlq" (wrangler.toml). */
const DEAD_LETTER_SUFFIX = "-dlq";
