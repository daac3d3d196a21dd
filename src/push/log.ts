import type { CallNotification, Notifier } from "./notifications";

/**
 * The zero-configuration provider: with no FCM or APNs credentials, each notification becomes one
 * structured log line (`event: "notification"`), visible in `wrangler dev` and `wrangler tail`.
 * It is a real delivery mode for development, not a stand-in for tests.
 */
export class LogNotifier implements Notifier {
  async notify(notifications: readonly CallNotification[]): Promise<void> {
    for (const notification of notifications) {
      console.log(
        JSON.stringify({
          level: "info",
          event: "notification",
          provider: "log",
          kind: notification.kind,
          callId: notification.callId,
          recipients: notification.recipients,
          caller: notification.caller,
          media: notification.media,
          ...(notification.reason ? { reason: notification.reason } : {}),
          ...(notification.answeredBy ? { answeredBy: notification.answeredBy } : {}),
        }),
      );
    }
  }
}
