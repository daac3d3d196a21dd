import { redact, type Device } from "../devices/device";
import { removeDeadToken } from "../devices/store";
import { ConfigError } from "../platform/config";
import { log } from "../platform/log";
import { sendApns } from "./apns";
import { providerConfig, type PushContext } from "./context";
import { sendFcm } from "./fcm";
import { apnsRequest, fcmMessage, PayloadTooLarge } from "./messages";
import type { PushNotification } from "./notifications";
import type { DeliveryOutcome } from "./outcome";

export type DeviceResult = DeliveryOutcome & { provider: Device["provider"] | "log"; token: string };

/**
 * One attempt to one device, and what it means: a dead token is removed here. A provider with
 * no credentials configured is the log provider: the push is written as a structured log line.
 * A provider whose credentials are malformed fails its devices (and says which variable).
 */
export async function deliverToDevice(push: PushContext, notification: PushNotification, device: Device): Promise<DeviceResult> {
  const now = Date.now();
  const failed = (reason: string): DeviceResult => ({ status: "failed", reason, provider: device.provider, token: device.token });
  if (now >= notification.expiresAt) return failed("expired");
  let result: DeviceResult;
  try {
    if (device.provider === "fcm") {
      const fcm = providerConfig(push, "fcm");
      if (fcm instanceof ConfigError) return reported(notification, device, failed(misconfigured(fcm)));
      if (!fcm) return logProvider(notification, device, device.token);
      result = { ...(await sendFcm(fcm, fcmMessage(notification, { token: device.token }, now), push.fetcher)), provider: "fcm", token: device.token };
    } else {
      const apns = providerConfig(push, "apns");
      if (apns instanceof ConfigError) return reported(notification, device, failed(misconfigured(apns)));
      const request = apnsRequest(notification, device, apns?.bundleId ?? "log.only");
      if (!apns) return logProvider(notification, device, request.token);
      result = { ...(await sendApns(push.env, apns, device, request, push.fetcher)), provider: "apns", token: request.token };
    }
  } catch (error) {
    if (error instanceof PayloadTooLarge) return failed(error.message);
    throw error;
  }
  if (result.status === "dead") {
    await removeDeadToken(push.env.DEVICES, device.userId, device.deviceId, result.token, result.reportedAt);
  }
  // Successes are counted by the caller, not logged one by one: a fan-out to 1000 devices would
  // otherwise write 1000 lines. Anything else is logged with what an operator needs.
  return result.status === "delivered" ? result : reported(notification, device, result);
}

/** One FCM topic message (FCM reaches the topic's devices itself). Without FCM, nothing to do. */
export async function sendToTopic(push: PushContext, notification: PushNotification, topic: string): Promise<DeliveryOutcome | undefined> {
  const fcm = providerConfig(push, "fcm");
  const result: DeliveryOutcome | undefined =
    fcm instanceof ConfigError
      ? { status: "failed", reason: misconfigured(fcm) }
      : fcm && (await sendFcm(fcm, fcmMessage(notification, { topic }, Date.now()), push.fetcher));
  if (result && result.status !== "delivered") {
    log(result.status === "retry" ? "warn" : "error", "push_topic", {
      outcome: result.status,
      ...("reason" in result ? { reason: result.reason } : {}),
      kind: notification.kind,
      notificationId: notification.id,
      topic,
    });
  }
  return result;
}

/** Logs a provider's malformed configuration and says what to check (variable names, never values). */
export function misconfigured(error: ConfigError): string {
  log("error", "config_invalid", { problems: error.problems });
  return `provider misconfigured: check ${error.variables.join(", ")}`;
}

function reported(notification: PushNotification, device: Device, result: DeviceResult): DeviceResult {
  log(result.status === "failed" ? "error" : "warn", "push", {
    outcome: result.status,
    ...("reason" in result ? { reason: result.reason } : {}),
    provider: result.provider,
    kind: notification.kind,
    notificationId: notification.id,
    userId: device.userId,
    deviceId: device.deviceId,
    token: redact(result.token),
  });
  return result;
}

function logProvider(notification: PushNotification, device: Device, token: string): DeviceResult {
  log("info", "notification", {
    provider: "log",
    kind: notification.kind,
    notificationId: notification.id,
    ...(notification.call ? { callId: notification.call.callId, caller: notification.call.caller } : {}),
    userId: device.userId,
    deviceId: device.deviceId,
    platform: device.platform,
    token: redact(token),
  });
  return { status: "delivered", provider: "log", token };
}
