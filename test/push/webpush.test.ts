/**
 * Web Push to browsers (RFC 8030, VAPID RFC 8292, aes128gcm RFC 8291) against the fake push
 * service of test/support/fake-push.ts, which checks the VAPID JWT (ES256, aud, exp, sub), `k`,
 * TTL, Urgency, Topic and Content-Encoding, and decrypts every body with the subscription's
 * private key (the browser's side), so what it records is what a service worker would read.
 * Proves: the decryption is RFC 8291's (Appendix A); a browser registers its PushSubscription,
 * validated hard and never shown back in full; calls' notices and custom sends reach it with
 * Urgency and TTL; 404/410 remove it, 429 retries, a refused VAPID key fails without removing;
 * zero configuration logs; the VAPID public key is served to clients.
 * Not covered: a real push service (the e2e suite drives a real service worker's push handler).
 */
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getDevice, listDevices } from "../../src/devices/store";
import { pushContext } from "../../src/push/context";
import { deliverToDevice } from "../../src/push/delivery";
import type { PushNotification } from "../../src/push/push-notification";
import { api, placeCall, user } from "../support/calls";
import { WEBPUSH_HOST } from "../support/fake-push";
import { browser, received, receivedAtLeast, script, subscribeBrowser } from "../support/push";
import { authHeader } from "../support/tokens";
import { browserKeysOf, decryptWebPush, fromBase64url } from "../support/webpush-crypto";

type Message = { type: string; notificationId: string; title?: string; body?: string; tag?: string; data: Record<string, string> };
const message = (record: { body: unknown }) => record.body as Message;

const custom = (overrides: Partial<PushNotification> = {}): PushNotification => ({
  id: crypto.randomUUID(),
  kind: "custom",
  createdAt: Date.now(),
  expiresAt: Date.now() + 3600_000,
  content: { title: "Hello", body: "World", priority: "high" },
  ...overrides,
});

afterEach(() => vi.restoreAllMocks());

describe("the browser's side of aes128gcm (the fake's decryption)", () => {
  it("reads RFC 8291's Appendix A example", async () => {
    const keys = await browserKeysOf(
      "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
      "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
      "BTBZMqHH6r4Tts7J_aSIgg",
    );
    const body = fromBase64url(
      "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
    );
    expect(new TextDecoder().decode(await decryptWebPush(body, keys))).toBe("When I grow up, I want to be a watermelon");
    // One bit changed: the GCM tag no longer verifies.
    body[body.length - 1]! ^= 1;
    await expect(decryptWebPush(body, keys)).rejects.toThrow();
  });
});

describe("registering a browser", () => {
  it("stores its subscription and never shows the endpoint or the keys", async () => {
    const alice = user("alice");
    const subscription = await subscribeBrowser();
    const response = await api(alice, "PUT", "/v1/devices/laptop", { provider: "webpush", platform: "web", subscription });
    expect(response.status).toBe(201);
    const listed = await (await api(alice, "GET", "/v1/devices")).text();
    expect(JSON.parse(listed)).toEqual({
      devices: [expect.objectContaining({ deviceId: "laptop", provider: "webpush", platform: "web", app: "default", pushService: WEBPUSH_HOST, tokenSuffix: subscription.endpoint.slice(-8) })],
    });
    for (const secret of [subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth]) expect(listed).not.toContain(secret);
    expect(await getDevice(env.DEVICES, alice, "laptop")).toMatchObject({ token: subscription.endpoint, webpush: subscription.keys });
  });

  const valid = { endpoint: `https://${WEBPUSH_HOST}/sub/x`, keys: { p256dh: `B${"A".repeat(86)}`, auth: "A".repeat(22) } };
  it.each([
    ["an http endpoint", { subscription: { ...valid, endpoint: `http://${WEBPUSH_HOST}/sub/x` } }, "subscription.endpoint"],
    ["an endpoint at an IP address", { subscription: { ...valid, endpoint: "https://192.0.2.1/sub/x" } }, "subscription.endpoint"],
    ["an endpoint with credentials", { subscription: { ...valid, endpoint: `https://user:pw@${WEBPUSH_HOST}/sub/x` } }, "subscription.endpoint"],
    ["an endpoint over 600 characters", { subscription: { ...valid, endpoint: `https://${WEBPUSH_HOST}/${"x".repeat(600)}` } }, "subscription.endpoint"],
    ["an endpoint not at a push service", { subscription: { ...valid, endpoint: "https://attacker.example.com/hook" } }, "not a push service"],
    ["a short p256dh", { subscription: { ...valid, keys: { ...valid.keys, p256dh: "BAAA" } } }, "p256dh"],
    ["a compressed p256dh", { subscription: { ...valid, keys: { ...valid.keys, p256dh: `A${"A".repeat(86)}` } } }, "p256dh"],
    ["an auth secret of 15 bytes", { subscription: { ...valid, keys: { ...valid.keys, auth: "A".repeat(20) } } }, "auth"],
    ["no subscription", {}, "subscription"],
    ["a token besides the subscription", { subscription: valid, token: "x".repeat(80) }, "token"],
    ["an unknown subscription field", { subscription: { ...valid, extra: 1 } }, "extra"],
  ])("answers 400 to %s", async (_name, fields, mentioned) => {
    const response = await api(user("bob"), "PUT", "/v1/devices/laptop", { provider: "webpush", platform: "web", ...fields });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("invalid_request");
    expect(error.message).toContain(mentioned);
  });

  it("answers 400 to a web push device that is not on the web platform", async () => {
    const response = await api(user("bob"), "PUT", "/v1/devices/laptop", { provider: "webpush", platform: "android", subscription: await subscribeBrowser() });
    expect(response.status).toBe(400);
  });

  it("serves the VAPID public key to signed-in clients, null without one", async () => {
    const response = await api(user("carol"), "GET", "/v1/push/vapid-public-key");
    expect(await response.json()).toEqual({ publicKey: (env as unknown as { VAPID_PUBLIC_KEY: string }).VAPID_PUBLIC_KEY });
    expect((await api(undefined, "GET", "/v1/push/vapid-public-key")).status).toBe(401);
  });
});

describe("calls reach a browser", () => {
  it("rings with Urgency high and the ring's TTL, then tells it the call ended under the same tag", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const laptop = await browser(bob);
    const { callId } = await placeCall(alice, [bob], "audio");
    const [ring] = await receivedAtLeast(laptop.token, 1);
    expect(ring!.status).toBe(201);
    expect(message(ring!)).toMatchObject({ type: "incoming-call", title: "Incoming call", body: `${alice} is calling`, tag: callId, data: { type: "incoming-call", callId, caller: alice, media: "audio" } });
    expect(ring!.headers).toMatchObject({ urgency: "high", topic: callId, "content-encoding": "aes128gcm" });
    expect(Number(ring!.headers.ttl)).toBeGreaterThan(30);
    expect(Number(ring!.headers.ttl)).toBeLessThanOrEqual(45);

    expect((await api(alice, "POST", `/v1/calls/${callId}/end`)).status).toBe(200);
    const [, ended] = await receivedAtLeast(laptop.token, 2);
    expect(message(ended!)).toMatchObject({ type: "call-ended", title: "Call ended", tag: callId, data: { reason: "cancelled" } });
    expect(ended!.headers.urgency).toBe("high");
  });

  it("reaches a browser from POST /v1/push/send, reported as webpush", async () => {
    const dave = user("dave");
    const laptop = await browser(dave);
    const response = await exportsFetch("/v1/push/send", { userIds: [dave], notification: { kind: "custom", title: "Hi", body: "there", data: { url: "/inbox" }, priority: "normal", collapseKey: "inbox" } });
    expect(await response.json()).toMatchObject({ summary: { delivered: 1 }, devices: [{ deviceId: laptop.deviceId, provider: "webpush", status: "delivered" }] });
    const [sent] = await received(laptop.token);
    expect(message(sent!)).toMatchObject({ type: "custom", title: "Hi", body: "there", tag: "inbox", data: { url: "/inbox" } });
    expect(sent!.headers).toMatchObject({ urgency: "normal", topic: "inbox" });
  });

  it("reaches a browser that joined a topic, a page of members at a time", async () => {
    const erin = user("erin");
    const laptop = await browser(erin);
    const topic = `web-${crypto.randomUUID().slice(0, 8)}`;
    const subscribe = await exportsFetch(`/v1/push/topics/${topic}/subscribe`, { deviceIds: [laptop.deviceId] }, erin);
    expect(await subscribe.json()).toEqual({ topic, results: [{ deviceId: laptop.deviceId, status: "subscribed" }] });
    expect((await exportsFetch("/v1/push/send", { topic, notification: { kind: "custom", title: "Topic news" } })).status).toBe(202);
    const [sent] = await receivedAtLeast(laptop.token, 1);
    expect(message(sent!)).toMatchObject({ type: "custom", title: "Topic news" });
  });
});

describe("push service answers", () => {
  it.each([
    ["404", { status: 404, body: {} }, "dead", true],
    ["410 Gone", { status: 410, body: {} }, "dead", true],
    ["429 with Retry-After", { status: 429, body: {}, retryAfter: "7" }, "retry", false],
    ["503", { status: 503, body: {} }, "retry", false],
    ["413", { status: 413, body: {} }, "failed", false],
    ["400", { status: 400, body: {} }, "failed", false],
  ])("%s → %s", async (_name, answer, status, removed) => {
    const laptop = await browser(user("u"));
    await script(laptop.token, [answer]);
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(() => {});
    const result = await deliverToDevice(pushContext(env), custom(), laptop);
    expect(result.status).toBe(status);
    if ("retryAfter" in answer) expect(result).toMatchObject({ retryAfterSeconds: 7 });
    expect((await getDevice(env.DEVICES, laptop.userId, laptop.deviceId)) === null).toBe(removed);
  });

  it("a subscription made with another VAPID key is refused (403): failed with the reason, kept", async () => {
    const other = (await crypto.subtle.exportKey("raw", ((await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair).publicKey)) as ArrayBuffer;
    const key = btoa(String.fromCharCode(...new Uint8Array(other))).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const fay = user("fay");
    expect((await api(fay, "PUT", "/v1/devices/old-laptop", { provider: "webpush", platform: "web", subscription: await subscribeBrowser(key) })).status).toBe(201);
    const [laptop] = await listDevices(env.DEVICES, fay);
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await deliverToDevice(pushContext(env), custom(), laptop!)).toMatchObject({ status: "failed", reason: expect.stringContaining("VAPID") });
    expect(await getDevice(env.DEVICES, fay, "old-laptop")).not.toBeNull();
    expect((await received(laptop!.token))[0]!.status).toBe(403);
  });

  it("fails a message too large for Web Push up front, without a request", async () => {
    const laptop = await browser(user("u"));
    vi.spyOn(console, "error").mockImplementation(() => {});
    const result = await deliverToDevice(pushContext(env), custom({ content: { title: "Big", data: { pad: "x".repeat(4000) }, priority: "normal" } }), laptop);
    expect(result).toMatchObject({ status: "failed", reason: expect.stringContaining("over the provider's limit") });
    expect(await received(laptop.token)).toEqual([]);
  });

  it("goes to the log provider without VAPID keys (zero configuration), and logs no endpoint or key", async () => {
    const bare = { ...env, VAPID_PUBLIC_KEY: undefined, VAPID_PRIVATE_KEY: undefined, VAPID_SUBJECT: undefined } as unknown as Env;
    const laptop = await browser(user("u"));
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    expect(await deliverToDevice(pushContext(bare), custom(), laptop)).toMatchObject({ status: "delivered", provider: "log" });
    expect(lines).toEqual([expect.stringContaining('"provider":"log"')]);
    for (const secret of [laptop.token.slice(0, 30), laptop.webpush!.p256dh, laptop.webpush!.auth]) expect(lines.join("\n")).not.toContain(secret);
    expect(await received(laptop.token)).toEqual([]);
  });
});

/** A request through the Worker as a backend (scope push:send), or as `userId` with that scope. */
async function exportsFetch(path: string, body: unknown, userId = "backend"): Promise<Response> {
  return exports.default.fetch(`http://edge.test${path}`, {
    method: "POST",
    headers: { ...(await authHeader(userId, { scope: "push:send" })), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}
