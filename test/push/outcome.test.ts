/**
 * Provider answers → what happens to the device, one real error code at a time, and the retry
 * back-off. The same codes are then exercised end to end against the fakes (delivery.test.ts).
 */
import { describe, expect, it } from "vitest";
import { classifyApns, classifyFcm, classifyWebPush, parseRetryAfter, retryDelaySeconds } from "../../src/push/outcome";

const fcmError = (status: number, errorCode: string, message = "") => ({
  error: { code: status, message, status: errorCode, details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] },
});

describe("classifyWebPush", () => {
  it.each([
    [201, null, { status: "delivered" }],
    [202, null, { status: "delivered" }],
    [404, null, { status: "dead" }],
    [410, null, { status: "dead", reason: "subscription expired (410)" }],
    [429, "30", { status: "retry", retryAfterSeconds: 30 }],
    [503, null, { status: "retry" }],
    [403, null, { status: "failed", reason: expect.stringContaining("VAPID") }],
    [401, null, { status: "failed" }],
    [413, null, { status: "failed", reason: expect.stringContaining("too large") }],
    [400, null, { status: "failed", reason: "HTTP_400" }],
  ])("%i (retry-after %s) → %j", (status, retryAfter, expected) => {
    expect(classifyWebPush(status, retryAfter)).toMatchObject(expected);
  });
});

describe("classifyFcm", () => {
  it.each([
    [200, { name: "projects/p/messages/1" }, null, { status: "delivered" }],
    [404, fcmError(404, "UNREGISTERED", "Requested entity was not found."), null, { status: "dead", reason: "UNREGISTERED" }],
    [403, fcmError(403, "SENDER_ID_MISMATCH"), null, { status: "dead", reason: "SENDER_ID_MISMATCH" }],
    [400, fcmError(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"), null, { status: "dead" }],
    [400, fcmError(400, "INVALID_ARGUMENT", "Invalid value at 'message.android.ttl'"), null, { status: "failed" }],
    [429, fcmError(429, "QUOTA_EXCEEDED"), "10", { status: "retry", retryAfterSeconds: 60 }],
    [429, fcmError(429, "QUOTA_EXCEEDED"), "120", { status: "retry", retryAfterSeconds: 120 }],
    [503, fcmError(503, "UNAVAILABLE"), "7", { status: "retry", retryAfterSeconds: 7 }],
    [500, fcmError(500, "INTERNAL"), null, { status: "retry" }],
    [502, null, null, { status: "retry" }],
    [401, fcmError(401, "UNAUTHENTICATED"), null, { status: "reauth" }],
    [401, fcmError(401, "THIRD_PARTY_AUTH_ERROR"), null, { status: "failed", reason: "THIRD_PARTY_AUTH_ERROR" }],
    [400, null, null, { status: "failed" }],
  ])("%i %j → %j", (status, body, retryAfter, expected) => {
    expect(classifyFcm(status, body, retryAfter)).toMatchObject(expected);
  });
});

describe("classifyApns", () => {
  it.each([
    [200, null, null, { status: "delivered" }],
    [410, { reason: "Unregistered", timestamp: 1_795_000_000_000 }, null, { status: "dead", reportedAt: new Date(1_795_000_000_000) }],
    [400, { reason: "BadDeviceToken" }, null, { status: "dead", reason: "BadDeviceToken" }],
    [400, { reason: "DeviceTokenNotForTopic" }, null, { status: "dead", reason: "DeviceTokenNotForTopic" }],
    [403, { reason: "ExpiredProviderToken" }, null, { status: "reauth" }],
    [403, { reason: "InvalidProviderToken" }, null, { status: "reauth" }],
    [429, { reason: "TooManyRequests" }, "30", { status: "retry", retryAfterSeconds: 30 }],
    [429, { reason: "TooManyProviderTokenUpdates" }, null, { status: "retry" }],
    [500, { reason: "InternalServerError" }, null, { status: "retry" }],
    [503, { reason: "ServiceUnavailable" }, "5", { status: "retry", retryAfterSeconds: 5 }],
    [413, { reason: "PayloadTooLarge" }, null, { status: "failed" }],
    [400, { reason: "BadTopic" }, null, { status: "failed", reason: "BadTopic" }],
  ])("%i %j → %j", (status, body, retryAfter, expected) => {
    expect(classifyApns(status, body, retryAfter)).toMatchObject(expected);
  });
});

describe("retry timing", () => {
  it("doubles per attempt with jitter between half and the whole delay, capped", () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(attempt, undefined, () => 0))).toEqual([1, 2, 4, 8]);
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(attempt, undefined, () => 0.999))).toEqual([2, 4, 8, 16]);
    expect(retryDelaySeconds(20, undefined, () => 0.999)).toBe(300);
  });

  it("never retries before the provider's Retry-After", () => {
    expect(retryDelaySeconds(1, 90, () => 0)).toBe(90);
  });

  it.each([
    ["120", 120],
    [" 5 ", 5],
    ["Wed, 25 Nov 2026 00:00:30 GMT", 30],
    ["soon", undefined],
    [null, undefined],
  ])("parses Retry-After %j", (value, seconds) => {
    expect(parseRetryAfter(value, Date.parse("2026-11-25T00:00:00Z"))).toBe(seconds);
  });
});
