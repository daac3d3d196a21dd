import { app } from "./api";
import { CallRoom as Room } from "./calls/room";
import { consumeDeadLetters, consumePushBatch } from "./push/consumers";
import { QueueNotifier } from "./push/queue-notifier";

/**
 * The Worker: the HTTP API, the push queue's consumers, and the Durable Object classes. This is
 * where the layers meet: the call room gets its notifier (the push queue) here, and nowhere else.
 */
export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue === PUSH_DEAD_LETTER_QUEUE) consumeDeadLetters(batch);
    else await consumePushBatch(batch, env);
  },
} satisfies ExportedHandler<Env>;

/** One call's room (calls/room.ts), telling people who are not on its socket through the push queue. */
export class CallRoom extends Room {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, new QueueNotifier(env.PUSH_QUEUE));
  }
}

export { ApnsProviderToken } from "./push/apns-auth";
export { UserLine } from "./calls/line";
export { DeviceRoster } from "./devices/roster";

/** The dead-letter queue's name, as in wrangler.toml. */
const PUSH_DEAD_LETTER_QUEUE = "secureconnect-push-dlq";
