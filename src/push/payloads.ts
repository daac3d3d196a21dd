import { DEFAULT_APP, FCM_TOKEN_MAX_LENGTH, type Device } from "../devices/device";
import type { PushNotification } from "./push-notification";

/**
 * Provider payloads for one notification and one device. Pure: no keys, no clock except `now`.
 *
 * - Android (FCM): an incoming call is a high-priority **data-only** message with the call's
 *   fields, so the app shows its own full-screen call UI; the other kinds are notifications with a
 *   channel, a TTL and a collapse key (`tag` = call id, so "call ended" replaces "incoming call").
 * - iOS (APNs): an incoming call goes to the VoIP token as `voip` on `<bundle>.voip` (CallKit);
 *   without a VoIP token it is a time-sensitive alert. Call-ended and missed-call are alerts
 *   (never VoIP: iOS requires every VoIP push to report a new call), call-answered and silent
 *   are background pushes (priority 5).
 * - Browsers (Web Push): one JSON message the service worker turns into a notification (`tag` =
 *   call id, so "call ended" replaces "incoming call"), sent with `Urgency: high` for a call's
 *   notices, a `TTL` of the notification's remaining life and a `Topic` that folds repeats.
 */

/** FCM HTTP v1 rejects payloads over 4096 bytes; APNs over 4096 (alert) or 5120 (VoIP). */
export const FCM_MAX_PAYLOAD = 4096;
export const APNS_MAX_PAYLOAD = 4096;
export const APNS_MAX_VOIP_PAYLOAD = 5120;
/**
 * A push service need only accept 4096 bytes of body (RFC 8030): the aes128gcm header (86 bytes:
 * salt, record size, key id) and the padding delimiter and GCM tag (17) leave 3993 for the message.
 */
export const WEBPUSH_MAX_PAYLOAD = 4096 - 86 - 17;

export class PayloadTooLarge extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`payload is ${bytes} bytes, over the provider's limit of ${limit}`);
  }
}

const TEXT: Record<string, (n: PushNotification) => { title: string; body: string }> = {
  "incoming-call": (n) => ({ title: n.call?.media === "video" ? "Incoming video call" : "Incoming call", body: `${n.call?.caller} is calling` }),
  "call-answered": () => ({ title: "Call answered", body: "Answered on another device" }),
  "call-ended": () => ({ title: "Call ended", body: "The call has ended" }),
  "missed-call": (n) => ({ title: "Missed call", body: `You missed a call from ${n.call?.caller}` }),
};

/** The data fields every provider carries (FCM data values must be strings). */
export function dataFields(notification: PushNotification): Record<string, string> {
  const call = notification.call;
  return {
    type: notification.kind,
    notificationId: notification.id,
    ...(call
      ? {
          callId: call.callId,
          caller: call.caller,
          media: call.media,
          ...(call.reason ? { reason: call.reason } : {}),
          ...(call.answeredBy ? { answeredBy: call.answeredBy } : {}),
          ...(call.metadata ? { metadata: JSON.stringify(call.metadata) } : {}),
        }
      : {}),
    ...(notification.content?.data ?? {}),
  };
}

const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));

/** The body of `POST /v1/projects/{id}/messages:send` for one token (or one topic). */
export function fcmMessage(notification: PushNotification, target: { token: string } | { topic: string }, now: number) {
  const ttl = `${seconds(notification.expiresAt - now)}s`;
  const data = dataFields(notification);
  const collapseKey = notification.call?.callId ?? notification.content?.collapseKey;
  const highPriority = notification.call ? true : notification.content?.priority === "high";
  let message: Record<string, unknown>;
  if (notification.kind === "incoming-call" || notification.kind === "silent") {
    message = {
      ...target,
      data,
      android: { priority: highPriority ? "high" : "normal", ttl, ...(collapseKey ? { collapse_key: collapseKey } : {}) },
      apns: { headers: { "apns-priority": "5", "apns-push-type": "background" }, payload: { aps: { "content-available": 1 } } },
    };
  } else {
    const text = notification.content ?? TEXT[notification.kind]!(notification);
    message = {
      ...target,
      data,
      notification: { ...(text.title ? { title: text.title } : {}), ...(text.body ? { body: text.body } : {}) },
      android: {
        priority: highPriority ? "high" : "normal",
        ttl,
        ...(collapseKey ? { collapse_key: collapseKey } : {}),
        notification: { channel_id: notification.call ? "calls" : "default", ...(notification.call ? { tag: notification.call.callId } : {}) },
      },
      ...(collapseKey ? { apns: { headers: { "apns-collapse-id": collapseKey.slice(0, 64) } } } : {}),
    };
  }
  const body = { message };
  const bytes = new TextEncoder().encode(JSON.stringify(body)).byteLength;
  if (bytes > FCM_MAX_PAYLOAD) throw new PayloadTooLarge(bytes, FCM_MAX_PAYLOAD);
  return body;
}

export interface ApnsRequest {
  /** The device token to address: the VoIP token for a VoIP push. */
  token: string;
  headers: Record<string, string>;
  payload: string;
}

/** The path's token, headers and JSON body of `POST /3/device/{token}` for one device. */
export function apnsRequest(notification: PushNotification, device: Device, bundleId: string): ApnsRequest {
  const data = dataFields(notification);
  const collapseId = (notification.call?.callId ?? notification.content?.collapseKey)?.slice(0, 64);
  const expiration = String(Math.floor(notification.expiresAt / 1000));
  const headers = (pushType: string, topic: string, priority: "5" | "10") => ({
    "apns-push-type": pushType,
    "apns-topic": topic,
    "apns-priority": priority,
    "apns-expiration": expiration,
    ...(collapseId ? { "apns-collapse-id": collapseId } : {}),
  });
  let request: ApnsRequest;
  if (notification.kind === "incoming-call" && device.voipToken) {
    request = { token: device.voipToken, headers: headers("voip", `${bundleId}.voip`, "10"), payload: JSON.stringify({ aps: {}, ...data }) };
  } else if (notification.kind === "silent" || notification.kind === "call-answered") {
    request = { token: device.token, headers: headers("background", bundleId, "5"), payload: JSON.stringify({ aps: { "content-available": 1 }, ...data }) };
  } else {
    const text = notification.content ?? TEXT[notification.kind]!(notification);
    const urgent = notification.kind === "incoming-call" || notification.content?.priority === "high";
    const aps = {
      alert: { ...(text.title ? { title: text.title } : {}), ...(text.body ? { body: text.body } : {}) },
      sound: "default",
      ...(notification.call ? { "thread-id": notification.call.callId } : {}),
      ...(notification.kind === "incoming-call" ? { "interruption-level": "time-sensitive" } : {}),
    };
    request = { token: device.token, headers: headers("alert", bundleId, urgent || notification.call ? "10" : "5"), payload: JSON.stringify({ aps, ...data }) };
  }
  const limit = request.headers["apns-push-type"] === "voip" ? APNS_MAX_VOIP_PAYLOAD : APNS_MAX_PAYLOAD;
  const bytes = new TextEncoder().encode(request.payload).byteLength;
  if (bytes > limit) throw new PayloadTooLarge(bytes, limit);
  return request;
}

export interface WebPushMessage {
  /** The JSON the service worker reads (demo: client/public/demo/sw.js). */
  payload: string;
  /** Seconds the push service keeps it for an offline browser: what is left of the notification's life. */
  ttl: number;
  urgency: "very-low" | "low" | "normal" | "high";
  /** Folds an undelivered earlier message with the same topic (RFC 8030 §5.4: ≤ 32 base64url characters). */
  topic?: string;
}

/** The Web Push message for one notification: what the browser's service worker shows. */
export function webPushMessage(notification: PushNotification, now: number): WebPushMessage {
  const text = notification.content ?? (notification.kind === "silent" ? undefined : TEXT[notification.kind]?.(notification));
  const tag = notification.call?.callId ?? notification.content?.collapseKey;
  const payload = JSON.stringify({
    type: notification.kind,
    notificationId: notification.id,
    ...(text?.title ? { title: text.title } : {}),
    ...(text?.body ? { body: text.body } : {}),
    ...(tag ? { tag } : {}),
    data: dataFields(notification),
  });
  const bytes = new TextEncoder().encode(payload).byteLength;
  if (bytes > WEBPUSH_MAX_PAYLOAD) throw new PayloadTooLarge(bytes, WEBPUSH_MAX_PAYLOAD);
  const urgency = notification.call
    ? notification.kind === "missed-call"
      ? "normal"
      : "high"
    : notification.kind === "silent"
      ? "low"
      : notification.content?.priority === "high"
        ? "high"
        : "normal";
  return { payload, ttl: seconds(notification.expiresAt - now), urgency, ...(tag && /^[A-Za-z0-9_-]{1,32}$/.test(tag) ? { topic: tag } : {}) };
}

/**
 * Why `notification` could never reach some device, if so: its payload built for the device that
 * makes it largest on each provider (FCM with the longest token, since FCM carries it in the body;
 * APNs as an alert and as VoIP; Web Push) is over that provider's limit. A call checks every
 * notice it may cause before it rings, so none of them is refused later.
 */
export function tooLargeForSomeDevice(notification: PushNotification, now: number): string | undefined {
  const iphone: Device = { deviceId: "d", userId: "u", provider: "apns", token: "0".repeat(64), platform: "ios", app: DEFAULT_APP, createdAt: "", updatedAt: "" };
  const builds: [string, () => unknown][] = [
    ["FCM", () => fcmMessage(notification, { token: "x".repeat(FCM_TOKEN_MAX_LENGTH) }, now)],
    ["APNs", () => apnsRequest(notification, iphone, "bundle")],
    ["APNs (VoIP)", () => apnsRequest(notification, { ...iphone, voipToken: "0".repeat(64) }, "bundle")],
    ["Web Push", () => webPushMessage(notification, now)],
  ];
  for (const [provider, build] of builds) {
    try {
      build();
    } catch (error) {
      if (error instanceof PayloadTooLarge) return `its ${notification.kind} push to ${provider} would be ${error.bytes} bytes, over the limit of ${error.limit}`;
      throw error;
    }
  }
  return undefined;
}

