import { app } from "./api";
import { consumeDeadLetters, consumePushBatch } from "./push/dispatch";

export { CallRoom } from "./calls/room";
export { ApnsProviderToken } from "./push/apns-auth";

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue === PUSH_DEAD_LETTER_QUEUE) consumeDeadLetters(batch);
    else await consumePushBatch(batch, env);
  },
} satisfies ExportedHandler<Env>;

/** The dead-letter queue's name, as in wrangler.toml. */
const PUSH_DEAD_LETTER_QUEUE = "secureconnect-push-dlq";
