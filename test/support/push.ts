import { env } from "cloudflare:workers";
import type { Device } from "../../src/devices/device";
import { registerDevice } from "../../src/devices/store";
import type { Received, Scripted } from "./fake-push";

/** The fake providers' base URL (test/support/fake-push.ts). */
export const fakeUrl = () => (env as unknown as { TEST_PUSH_FAKE_URL: string }).TEST_PUSH_FAKE_URL;

/** Queues answers at the fake for one target (FCM token, `topic:<name>`, APNs token, `iid:<token>`, Web Push endpoint). */
export async function script(target: string, responses: Scripted[]): Promise<void> {
  await fetch(`${fakeUrl()}/_control/script`, { method: "POST", body: JSON.stringify({ target, responses }) });
}

/** What the fake received for `target`. */
export async function received(target: string): Promise<Received[]> {
  return (await (await fetch(`${fakeUrl()}/_control/records?target=${encodeURIComponent(target)}`)).json()) as Received[];
}

/** Waits (bounded) until the fake has received `count` requests for `target`. */
export async function receivedAtLeast(target: string, count: number, timeoutMs = 10_000): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await received(target);
    if (records.length >= count) return records;
    if (Date.now() > deadline) throw new Error(`fake got ${records.length} of ${count} requests for ${target} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Unique, valid-looking tokens per test. */
export const fcmToken = () => `fcm-${crypto.randomUUID()}:APA91b${"x".repeat(100)}`;
export const apnsToken = () => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");

/** Registers an Android (FCM) device for `userId` straight in KV. */
export async function android(userId: string, token = fcmToken()): Promise<Device> {
  return (await registerDevice(env, userId, `android-${crypto.randomUUID().slice(0, 6)}`, { provider: "fcm", token, platform: "android" }, new Date())).device;
}

/** A browser's PushSubscription, made at the fake push service (`applicationServerKey`: another VAPID key than the Worker's). */
export async function subscribeBrowser(applicationServerKey?: string): Promise<{ endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } }> {
  const response = await fetch(`${fakeUrl()}/_control/webpush/subscribe`, { method: "POST", body: JSON.stringify(applicationServerKey ? { applicationServerKey } : {}) });
  return (await response.json()) as { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

/** Registers a browser (Web Push) for `userId` straight in KV, its subscription made at the fake. */
export async function browser(userId: string): Promise<Device> {
  const subscription = await subscribeBrowser();
  return (await registerDevice(env, userId, `browser-${crypto.randomUUID().slice(0, 6)}`, { provider: "webpush", platform: "web", subscription }, new Date())).device;
}

/** Registers an iPhone (APNs, sandbox unless said otherwise, with a VoIP token unless not) for `userId` straight in KV. */
export async function iphone(userId: string, withVoip = true, registeredAt = new Date(), environment: "production" | "sandbox" = "sandbox"): Promise<Device> {
  const registration = { provider: "apns" as const, token: apnsToken(), platform: "ios" as const, environment, ...(withVoip ? { voipToken: apnsToken() } : {}) };
  return (await registerDevice(env, userId, `iphone-${crypto.randomUUID().slice(0, 6)}`, registration, registeredAt)).device;
}
