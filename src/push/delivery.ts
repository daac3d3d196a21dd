import { DEFAULT_APP, redact, type Device } from "../devices/device";
import { removeDeadToken } from "../devices/store";
import { record } from "../metrics/recorder";
import { log } from "../platform/log";
import type { PushContext } from "./context";
import type { DeliveryOutcome } from "./outcome";
import { pushOutcomeEvent } from "./outcome-event";
import type { ProviderName } from "./providers";
import type { PushNotification } from "./push-notification";

export type DeviceResult = DeliveryOutcome & { provider: ProviderName | "log"; token: string };

/**
 * One attempt to one device through its provider (context.ts: the real one, the log provider, or
 * a misconfigured one that fails naming its variables), and what the answer means: a dead token
 * is removed here, and anything but a delivery is logged with what an operator needs.
 */
export async function deliverToDevice(push: PushContext, notification: PushNotification, device: Device): Promise<DeviceResult> {
  const provider = push.provider(device.provider, device.app);
  const started = Date.now();
  const sent =
    started >= notification.expiresAt
      ? { status: "failed" as const, reason: "expired", token: device.token }
      : await provider.send(notification, device);
  const latencyMs = Date.now() - started;
  const result: DeviceResult = { ...sent, provider: provider.mode === "log" ? "log" : provider.name };
  record(push.env, pushOutcomeEvent(result, notification, "device", Date.now() - started));
  if (result.status === "dead") {
    await removeDeadToken(push.env, device.userId, device.deviceId, result.token, result.reportedAt);
  }
  // Successes are counted by the caller, not logged one by one: a fan-out to 1000 devices would
  // otherwise write 1000 lines. Anything else is logged with what an operator needs.
  if (result.status !== "delivered") {
    log(result.status === "failed" ? "error" : "warn", "push", {
      outcome: result.status,
      reason: result.reason,
      provider: result.provider,
      app: device.app,
      kind: notification.kind,
      latencyMs,
      notificationId: notification.id,
      userId: device.userId,
      deviceId: device.deviceId,
      token: redact(result.token),
    });
  }
  return result;
}

/**
 * One topic message at `app`'s provider that has topics (FCM reaches the topic's devices of its
 * project itself). Undefined when it is not configured: the topic's members of that app are then
 * reached one by one.
 */
export async function sendToTopic(push: PushContext, notification: PushNotification, topic: string, app: string = DEFAULT_APP): Promise<DeliveryOutcome | undefined> {
  const topics = push.provider("fcm", app).topics;
  if (!topics) return undefined;
  const started = Date.now();
  const result = await topics.send(notification, topic);
  const latencyMs = Date.now() - started;
  record(push.env, pushOutcomeEvent({ ...result, provider: "fcm" }, notification, "topic", latencyMs));
  if (result.status !== "delivered") {
    log(result.status === "retry" ? "warn" : "error", "push_topic", { outcome: result.status, reason: result.reason, provider: "fcm", app, kind: notification.kind, notificationId: notification.id, topic, latencyMs });
  }
  return result;
}
