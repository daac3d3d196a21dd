/**
 * Payloads per kind and platform: what Android, iOS (VoIP and alert), browsers (Web Push) and
 * topics get, and the size limits checked before anything is sent.
 */
import { describe, expect, it } from "vitest";
import type { Device } from "../../src/devices/device";
import { apnsRequest, fcmMessage, PayloadTooLarge, tooLargeForSomeDevice, WEBPUSH_MAX_PAYLOAD, webPushMessage } from "../../src/push/payloads";
import { fromCallNotice, type PushNotification } from "../../src/push/push-notification";

const NOW = Date.parse("2026-11-24T12:00:00Z");
const call = (kind: "incoming-call" | "call-ended" | "missed-call" | "call-answered"): PushNotification => ({
  ...fromCallNotice({ kind, callId: "CALL123", recipients: ["bob"], caller: "alice", media: "video", at: NOW, ringsUntil: NOW + 45_000, metadata: { displayName: "Alice" } }),
  id: "n-1",
});
const iphone: Device = {
  deviceId: "iphone",
  userId: "bob",
  provider: "apns",
  platform: "ios",
  token: "a".repeat(64),
  voipToken: "b".repeat(64),
  environment: "production",
  app: "default",
  createdAt: "",
  updatedAt: "",
};

describe("fcmMessage", () => {
  it("makes an incoming call a high-priority data-only message that lives as long as the ring", () => {
    expect(fcmMessage(call("incoming-call"), { token: "t" }, NOW)).toEqual({
      message: {
        token: "t",
        data: { type: "incoming-call", notificationId: "n-1", callId: "CALL123", caller: "alice", media: "video", metadata: '{"displayName":"Alice"}' },
        android: { priority: "high", ttl: "45s", collapse_key: "CALL123" },
        apns: { headers: { "apns-priority": "5", "apns-push-type": "background" }, payload: { aps: { "content-available": 1 } } },
      },
    });
  });

  it("makes call-ended a notification on the calls channel that replaces the ringing one", () => {
    const { message } = fcmMessage(call("call-ended"), { token: "t" }, NOW) as { message: Record<string, Record<string, unknown>> };
    expect(message.notification).toEqual({ title: "Call ended", body: "The call has ended" });
    expect(message.android).toMatchObject({ priority: "high", collapse_key: "CALL123", notification: { channel_id: "calls", tag: "CALL123" } });
    expect(message.data!.type).toBe("call-ended");
  });

  it("sends custom notifications with their own title, data, priority and collapse key", () => {
    const custom: PushNotification = {
      id: "n-2",
      kind: "custom",
      createdAt: NOW,
      expiresAt: NOW + 3600_000,
      content: { title: "Hi", body: "There", data: { k: "v" }, priority: "normal", collapseKey: "news" },
    };
    const { message } = fcmMessage(custom, { topic: "news" }, NOW) as { message: Record<string, Record<string, unknown>> };
    expect(message).toMatchObject({ topic: "news", notification: { title: "Hi", body: "There" }, data: { k: "v", type: "custom" } });
    expect(message.android).toMatchObject({ priority: "normal", ttl: "3600s", collapse_key: "news", notification: { channel_id: "default" } });
  });

  it("refuses a message over 4096 bytes before sending", () => {
    const big: PushNotification = { id: "n", kind: "custom", createdAt: NOW, expiresAt: NOW + 1000, content: { body: "x".repeat(5000), priority: "high" } };
    expect(() => fcmMessage(big, { token: "t" }, NOW)).toThrow(PayloadTooLarge);
  });
});

describe("apnsRequest", () => {
  it("sends an incoming call to the VoIP token as voip on <bundle>.voip, priority 10, expiring with the ring", () => {
    const request = apnsRequest(call("incoming-call"), iphone, "com.example.calls");
    expect(request.token).toBe("b".repeat(64));
    expect(request.headers).toEqual({
      "apns-push-type": "voip",
      "apns-topic": "com.example.calls.voip",
      "apns-priority": "10",
      "apns-expiration": String((NOW + 45_000) / 1000),
      "apns-collapse-id": "CALL123",
    });
    expect(JSON.parse(request.payload)).toMatchObject({ aps: {}, type: "incoming-call", callId: "CALL123", caller: "alice" });
  });

  it("falls back to a time-sensitive alert without a VoIP token", () => {
    const { voipToken: _none, ...plain } = iphone;
    const request = apnsRequest(call("incoming-call"), plain, "com.example.calls");
    expect(request.token).toBe("a".repeat(64));
    expect(request.headers["apns-push-type"]).toBe("alert");
    expect(JSON.parse(request.payload).aps).toMatchObject({ alert: { title: "Incoming video call", body: "alice is calling" }, "interruption-level": "time-sensitive" });
  });

  it.each([
    ["call-ended", "alert", "10"],
    ["missed-call", "alert", "10"],
    ["call-answered", "background", "5"],
  ] as const)("sends %s as %s (never VoIP) to the main token", (kind, pushType, priority) => {
    const request = apnsRequest(call(kind), iphone, "com.example.calls");
    expect(request.token).toBe("a".repeat(64));
    expect(request.headers).toMatchObject({ "apns-push-type": pushType, "apns-topic": "com.example.calls", "apns-priority": priority });
  });

  it("sends silent notifications as background with content-available and priority 5", () => {
    const silent: PushNotification = { id: "n", kind: "silent", createdAt: NOW, expiresAt: NOW + 1000, content: { data: { sync: "1" }, priority: "normal" } };
    const request = apnsRequest(silent, iphone, "com.example.calls");
    expect(request.headers).toMatchObject({ "apns-push-type": "background", "apns-priority": "5" });
    expect(JSON.parse(request.payload)).toEqual({ aps: { "content-available": 1 }, type: "silent", notificationId: "n", sync: "1" });
  });

  it("checks 4 KB for alerts and 5 KB for VoIP before sending", () => {
    const padded = (bytes: number): PushNotification => ({ ...call("incoming-call"), call: { ...call("incoming-call").call!, metadata: { pad: "x".repeat(bytes) } } });
    expect(() => apnsRequest(padded(4500), iphone, "com.example.calls")).not.toThrow();
    expect(() => apnsRequest(padded(5200), iphone, "com.example.calls")).toThrow(PayloadTooLarge);
    const { voipToken: _none, ...plain } = iphone;
    expect(() => apnsRequest(padded(4500), plain, "com.example.calls")).toThrow(PayloadTooLarge);
  });
});

describe("webPushMessage", () => {
  it.each([
    ["incoming-call", "high", "Incoming video call"],
    ["call-answered", "high", "Call answered"],
    ["call-ended", "high", "Call ended"],
    ["missed-call", "normal", "Missed call"],
  ] as const)("sends %s with Urgency %s, the call id as tag and Topic, and the call's fields", (kind, urgency, title) => {
    const message = webPushMessage(call(kind), NOW + 5_000);
    expect(message).toMatchObject({ urgency, topic: "CALL123" });
    expect(JSON.parse(message.payload)).toMatchObject({ type: kind, notificationId: "n-1", title, tag: "CALL123", data: { callId: "CALL123", caller: "alice", media: "video" } });
  });

  it("gives the ring's remaining life as TTL, never below zero", () => {
    expect(webPushMessage(call("incoming-call"), NOW + 5_000).ttl).toBe(40);
    expect(webPushMessage(call("incoming-call"), NOW + 60_000).ttl).toBe(0);
  });

  it("sends custom notifications at their priority and silent ones low, without a title", () => {
    const custom: PushNotification = { id: "c", kind: "custom", createdAt: NOW, expiresAt: NOW + 60_000, content: { title: "T", body: "B", priority: "normal", collapseKey: "not a topic!" } };
    const message = webPushMessage(custom, NOW);
    expect(message).toEqual({ payload: expect.any(String), ttl: 60, urgency: "normal" });
    expect(JSON.parse(message.payload)).toEqual({ type: "custom", notificationId: "c", title: "T", body: "B", tag: "not a topic!", data: { type: "custom", notificationId: "c" } });
    const silent: PushNotification = { id: "s", kind: "silent", createdAt: NOW, expiresAt: NOW + 1000, content: { data: { sync: "1" }, priority: "normal" } };
    expect(webPushMessage(silent, NOW).urgency).toBe("low");
    expect(JSON.parse(webPushMessage(silent, NOW).payload)).toEqual({ type: "silent", notificationId: "s", data: { type: "silent", notificationId: "s", sync: "1" } });
  });

  it(`checks the ${WEBPUSH_MAX_PAYLOAD} bytes a push service must take, after encryption`, () => {
    const padded = (bytes: number): PushNotification => ({ id: "p", kind: "custom", createdAt: NOW, expiresAt: NOW + 1000, content: { title: "x", data: { pad: "y".repeat(bytes) }, priority: "normal" } });
    expect(() => webPushMessage(padded(3800), NOW)).not.toThrow();
    expect(() => webPushMessage(padded(4000), NOW)).toThrow(PayloadTooLarge);
  });
});

describe("tooLargeForSomeDevice", () => {
  const missed = (metadata: Record<string, string>): PushNotification =>
    fromCallNotice({ kind: "missed-call", callId: "q3V8c1mZk0Qv9oYx2bLwTg", recipients: ["bob"], caller: '"'.repeat(200), media: "video", metadata, at: Date.now() });

  it("finds the provider a notice could never reach, with the longest FCM token", () => {
    // 1,006 euro signs: what UTF-16 counting once let through as 1,024 "bytes".
    expect(tooLargeForSomeDevice(missed({ name: "€".repeat(1006) }), Date.now())).toMatch(/^its missed-call push to FCM would be \d+ bytes, over the limit of 4096$/);
  });

  it("passes a notice every provider can carry", () => {
    expect(tooLargeForSomeDevice(missed({ a: '"'.repeat(508) }), Date.now())).toBeUndefined();
  });
});
