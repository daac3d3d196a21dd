import { encryptNotification, vapidHeaders, type PushSubscription } from "@block65/webcrypto-web-push";
import { importJWK, jwtVerify } from "jose";
import type { Device, DeviceRegistration } from "../devices/device";
import { base64url } from "../platform/ids";
import type { WebPushConfig } from "./config";
import { classifyWebPush, describe, networkFailure, type DeliveryOutcome } from "./outcome";
import { webPushMessage, type WebPushMessage } from "./payloads";
import { buildPayload, logProvider, type Provider, type ProviderProbe } from "./providers";

/**
 * Web Push (RFC 8030) to browsers, with VAPID (RFC 8292) and `aes128gcm` payload encryption
 * (RFC 8291), as a {@link Provider}. The encryption and the VAPID JWT are
 * `@block65/webcrypto-web-push` (Web Crypto only, so it runs on Workers; `web-push` does not, and
 * the other Web Crypto libraries still emit the obsolete `aesgcm` encoding); the request, its
 * headers and what the answer means are ours. The device's `token` is the subscription's endpoint.
 */
export function webPushProvider(vapid: WebPushConfig, fetcher: typeof fetch): Provider {
  return {
    name: "webpush",
    mode: "ready",
    async send(notification, device) {
      const message = buildPayload(() => webPushMessage(notification, Date.now()), device.token);
      if ("status" in message) return message;
      return { ...(await sendWebPush(vapid, device, message, fetcher)), token: device.token };
    },
    probe: () => probeVapid(vapid),
  };
}

/** Web Push without VAPID keys: log lines, with the same size limit. */
export const webPushLogProvider = (): Provider => logProvider("webpush", (notification, device) => (webPushMessage(notification, Date.now()), device));

/**
 * Whether a push service at `endpoint` is one this deployment sends to (`services`, each host with
 * its subdomains): the Worker POSTs to every registered endpoint, so nothing else is taken.
 */
export function webPushRefusal(registration: DeviceRegistration, services: readonly string[]): string | undefined {
  if (registration.provider !== "webpush" || !registration.subscription) return undefined;
  const host = new URL(registration.subscription.endpoint).hostname.toLowerCase();
  if (services.some((service) => host === service || host.endsWith(`.${service}`))) return undefined;
  return `is at ${host}, not a push service this deployment sends to (WEBPUSH_PUSH_SERVICES)`;
}

/** One encrypted message to a subscription; never throws for a delivery problem. */
async function sendWebPush(vapid: WebPushConfig, device: Device, message: WebPushMessage, fetcher: typeof fetch): Promise<DeliveryOutcome> {
  if (!device.webpush) return { status: "failed", reason: "the device has no subscription keys" };
  const subscription: PushSubscription = { endpoint: device.token, expirationTime: null, keys: device.webpush };
  let authorization: string;
  let body: Uint8Array;
  try {
    authorization = (await vapidHeaders(subscription, vapid)).headers.authorization;
  } catch (error) {
    return { status: "failed", reason: `VAPID authorization: ${describe(error)}` };
  }
  try {
    body = await encryptNotification(subscription, new TextEncoder().encode(message.payload));
  } catch (error) {
    // Keys of the right length that are not a point on the curve; not removed, since the same
    // failure from a fault of ours would remove every browser.
    return { status: "failed", reason: `encryption for the subscription's keys: ${describe(error)}` };
  }
  let response: Response;
  try {
    response = await fetcher(requestUrl(vapid, device.token), {
      method: "POST",
      headers: {
        authorization,
        "content-encoding": "aes128gcm",
        "content-type": "application/octet-stream",
        ttl: String(message.ttl),
        urgency: message.urgency,
        ...(message.topic ? { topic: message.topic } : {}),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return networkFailure(error);
  }
  await response.body?.cancel();
  return classifyWebPush(response.status, response.headers.get("retry-after"));
}

/** The endpoint itself, or (tests) the same host and path under `WEBPUSH_BASE_URL`. */
function requestUrl(vapid: WebPushConfig, endpoint: string): string {
  if (!vapid.baseUrl) return endpoint;
  const url = new URL(endpoint);
  return `${vapid.baseUrl}/${url.host}${url.pathname}${url.search}`;
}

/**
 * The push check for Web Push: a VAPID authorization made by the send path itself, whose JWT must
 * verify with `VAPID_PUBLIC_KEY`, the key browsers subscribe with. That proves the key pair is one
 * pair and the subject is set; a push service cannot be asked without a real subscription.
 */
async function probeVapid(vapid: WebPushConfig): ReturnType<ProviderProbe> {
  const audience = "https://push-check.invalid";
  try {
    const { authorization } = (await vapidHeaders({ endpoint: `${audience}/probe`, expirationTime: null, keys: { p256dh: "", auth: "" } }, vapid)).headers;
    const token = /^vapid t=([^,]+), k=(.+)$/.exec(authorization)?.[1] ?? "";
    const bytes = Uint8Array.from(atob(vapid.publicKey.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
    const key = await importJWK({ kty: "EC", crv: "P-256", x: base64url(bytes.slice(1, 33)), y: base64url(bytes.slice(33, 65)) }, "ES256");
    const { payload } = await jwtVerify(token, key, { algorithms: ["ES256"], audience });
    const hours = Math.round(((payload.exp ?? 0) - Date.now() / 1000) / 3600);
    return { ok: true, detail: `VAPID key pair consistent: a JWT signed with VAPID_PRIVATE_KEY verifies with VAPID_PUBLIC_KEY (sub ${vapid.subject}, exp in ${hours} h)` };
  } catch (error) {
    return { ok: false, detail: `VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY are not one key pair: ${describe(error)}` };
  }
}
