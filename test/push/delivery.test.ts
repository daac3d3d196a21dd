/**
 * Push delivery end to end in workerd against the fake providers (test/support/fake-push.ts),
 * which verify signatures, headers and payloads like the real ones:
 * - calls notify registered devices for real (incoming, ended, missed);
 * - every provider error code maps to the right action (remove, retry, renew credentials, fail);
 * - retries go through the queue with back-off and deliver once;
 * - /v1/push/send and topics.
 * Not covered: HTTP/2 to the real APNs (deployed Workers only), real Google and Apple.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { Device } from "../../src/devices/device";
import { deleteDevice, getDevice, listDevices, MAX_DEVICES_PER_USER, registerDevice } from "../../src/devices/store";
import worker from "../../src/index";
import { pushContext } from "../../src/push/context";
import { deliverToDevice } from "../../src/push/delivery";
import { FANOUT_USERS_PER_JOB, fanoutMessages, type FanoutJob, type PushJob } from "../../src/push/jobs";
import { INLINE_MAX_USERS } from "../../src/push/send";
import { changeMembership, moveMembership, topicMembersPage } from "../../src/push/topics";
import type { PushNotification } from "../../src/push/push-notification";
import { randomId } from "../../src/platform/ids";
import { api, placeCall, user } from "../support/calls";
import type { CallRoom } from "../support/worker";
import { android, apnsToken, fcmToken, iphone, received, receivedAtLeast, script } from "../support/push";
import { authHeader } from "../support/tokens";

const fcmError = (status: number, errorCode: string, message = "") => ({
  status,
  body: { error: { code: status, message, status: errorCode, details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] } },
});

const custom = (): PushNotification => ({
  id: crypto.randomUUID(),
  kind: "custom",
  createdAt: Date.now(),
  expiresAt: Date.now() + 3600_000,
  content: { title: "Hello", body: "World", priority: "high" },
});

const body = <T>(record: { body: unknown }) => record.body as T;
type FcmBody = { message: { token?: string; topic?: string; data: Record<string, string>; notification?: object; android: Record<string, unknown> } };

/** Registers a device the way an app does, through `PUT /v1/devices/{id}`. */
async function registered(userId: string, registration: Record<string, string>): Promise<Device> {
  const deviceId = `app-${crypto.randomUUID().slice(0, 8)}`;
  expect((await api(userId, "PUT", `/v1/devices/${deviceId}`, registration)).status).toBe(201);
  return (await getDevice(env.DEVICES, userId, deviceId))!;
}

describe("calls notify devices", () => {
  it("rings an Android callee with a high-priority data-only message, signed access token verified", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const phone = await registered(bob, { provider: "fcm", token: fcmToken(), platform: "android" });
    const { callId } = await placeCall(alice, [bob]);
    const [push] = await receivedAtLeast(phone.token, 1);
    expect(push!.status).toBe(200);
    const { message } = body<FcmBody>(push!);
    expect(message.notification).toBeUndefined();
    expect(message.data).toMatchObject({ type: "incoming-call", callId, caller: alice, media: "video" });
    expect(message.android).toMatchObject({ priority: "high", collapse_key: callId });
    expect(push!.authorization).toMatch(/^Bearer ya29\.fake-/);
  });

  it("rings an iPhone over VoIP, then tells its main token the call ended when the callee declines", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const phone = await registered(bob, { provider: "apns", token: apnsToken(), voipToken: apnsToken(), platform: "ios", environment: "sandbox" });
    const { callId } = await placeCall(alice, [bob]);
    const [voip] = await receivedAtLeast(phone.voipToken!, 1);
    expect(voip!.status).toBe(200);
    expect(voip!.headers).toMatchObject({ "apns-push-type": "voip", "apns-topic": "com.example.calls.voip", "apns-priority": "10", "apns-collapse-id": callId });

    await api(bob, "POST", `/v1/calls/${callId}/decline`);
    const [ended] = await receivedAtLeast(phone.token, 1);
    expect(ended!.headers).toMatchObject({ "apns-push-type": "alert", "apns-topic": "com.example.calls" });
    expect(body<Record<string, unknown>>(ended!)).toMatchObject({ type: "call-ended", reason: "declined", aps: { alert: { title: "Call ended" } } });
    expect(await received(phone.voipToken!)).toHaveLength(1);
  });

  it("sends a missed-call push when the ring times out", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const phone = await registered(bob, { provider: "fcm", token: fcmToken(), platform: "android" });
    const { callId } = await placeCall(alice, [bob]);
    await receivedAtLeast(phone.token, 1);
    const stub = env.CALL_ROOM.get(env.CALL_ROOM.idFromName(callId));
    await runInDurableObject(stub, (_room, state) => {
      state.storage.kv.put("call", { ...state.storage.kv.get<object>("call")!, ringDeadline: Date.now() - 1 });
    });
    await runDurableObjectAlarm(stub);
    const [, missed] = await receivedAtLeast(phone.token, 2);
    expect(body<FcmBody>(missed!).message.data).toMatchObject({ type: "missed-call", callId });
    expect(body<FcmBody>(missed!).message.notification).toEqual({ title: "Missed call", body: `You missed a call from ${alice}` });
  });

  it("rings exactly once when the queue refuses the call's notice twice, then takes it (the room's outbox, retried by its alarm)", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const phone = await android(bob);
    const callId = randomId(16);
    const stub = env.CALL_ROOM.get(env.CALL_ROOM.idFromName(callId));
    const attempts = () => runInDurableObject(stub, (room: CallRoom) => room.recorder.attempts);
    await runInDurableObject(stub, (room: CallRoom) => room.recorder.failNext(2));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});

    expect((await stub.create({ callId, caller: alice, callees: [bob], media: "audio" })).ok).toBe(true);
    await vi.waitFor(async () => expect(await attempts()).toBe(1));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await attempts()).toBe(2);
    expect(await received(phone.token)).toEqual([]);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await attempts()).toBe(3);

    const [ring] = await receivedAtLeast(phone.token, 1);
    expect(body<FcmBody>(ring!).message.data).toMatchObject({ type: "incoming-call", callId });
    // Nothing is left to send: a further alarm run (the ring timeout's) sends no second ring.
    await runDurableObjectAlarm(stub);
    expect(await attempts()).toBe(3);
    expect(await received(phone.token)).toHaveLength(1);
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])).event)).toEqual(["notify_failed", "notify_failed"]);
    errors.mockRestore();
  });
});

describe("FCM answers", () => {
  it.each([
    ["UNREGISTERED", fcmError(404, "UNREGISTERED", "Requested entity was not found."), "dead", true],
    ["INVALID_ARGUMENT for the token", fcmError(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"), "dead", true],
    ["SENDER_ID_MISMATCH", fcmError(403, "SENDER_ID_MISMATCH", "SenderId mismatch"), "dead", true],
    ["UNAVAILABLE", { ...fcmError(503, "UNAVAILABLE"), retryAfter: "3" }, "retry", false],
    ["INTERNAL", fcmError(500, "INTERNAL"), "retry", false],
    ["QUOTA_EXCEEDED", fcmError(429, "QUOTA_EXCEEDED"), "retry", false],
    ["another INVALID_ARGUMENT", fcmError(400, "INVALID_ARGUMENT", "Invalid JSON payload"), "failed", false],
  ])("%s → %s%s", async (_name, answer, status, removed) => {
    const device = await android(user("u"));
    await script(device.token, [answer]);
    const result = await deliverToDevice(pushContext(env), custom(), device);
    expect(result.status).toBe(status);
    expect((await getDevice(env.DEVICES, device.userId, device.deviceId)) === null).toBe(removed);
    expect(await received(device.token)).toHaveLength(1);
  });

  it("renews the access token once on 401 and delivers with the new one", async () => {
    const device = await android(user("u"));
    await script(device.token, [fcmError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")]);
    expect((await deliverToDevice(pushContext(env), custom(), device)).status).toBe("delivered");
    const [refused, accepted] = await received(device.token);
    expect(refused!.status).toBe(401);
    expect(accepted!.status).toBe(200);
    expect(accepted!.authorization).not.toBe(refused!.authorization);
  });

  it("reuses the cached access token across sends", async () => {
    const [a, b] = [await android(user("u")), await android(user("u"))];
    await deliverToDevice(pushContext(env), custom(), a);
    await deliverToDevice(pushContext(env), custom(), b);
    expect((await received(a.token))[0]!.authorization).toBe((await received(b.token))[0]!.authorization);
  });

  it("treats a network failure as transient", async () => {
    const push = pushContext(env);
    // The access token comes from the cache; the send itself fails the way a dropped connection does.
    await deliverToDevice(push, custom(), await android(user("u")));
    const broken = pushContext(env, async () => Promise.reject(new TypeError("Network connection lost.")));
    expect(await deliverToDevice(broken, custom(), await android(user("u")))).toMatchObject({ status: "retry", reason: "network: Network connection lost." });
  });
});

describe("APNs answers", () => {
  it.each([
    ["BadDeviceToken", { status: 400, body: { reason: "BadDeviceToken" } }, "dead", true],
    ["DeviceTokenNotForTopic", { status: 400, body: { reason: "DeviceTokenNotForTopic" } }, "dead", true],
    ["Unregistered after the registration", { status: 410, body: { reason: "Unregistered", timestamp: Date.now() + 60_000 } }, "dead", true],
    ["Unregistered before a later registration", { status: 410, body: { reason: "Unregistered", timestamp: Date.now() - 3600_000 } }, "dead", false],
    ["TooManyRequests", { status: 429, body: { reason: "TooManyRequests" }, retryAfter: "2" }, "retry", false],
    ["InternalServerError", { status: 500, body: { reason: "InternalServerError" } }, "retry", false],
    ["ServiceUnavailable", { status: 503, body: { reason: "ServiceUnavailable" } }, "retry", false],
    ["BadCollapseId", { status: 400, body: { reason: "BadCollapseId" } }, "failed", false],
  ])("%s → %s%s", async (_name, answer, status, removed) => {
    const device = await iphone(user("u"), false);
    await script(device.token, [answer]);
    const result = await deliverToDevice(pushContext(env), custom(), device);
    expect(result.status).toBe(status);
    expect((await getDevice(env.DEVICES, device.userId, device.deviceId)) === null).toBe(removed);
  });

  it("gets a new provider token once on ExpiredProviderToken, and shares tokens across sends", async () => {
    const [a, b] = [await iphone(user("u"), false), await iphone(user("u"), false)];
    await deliverToDevice(pushContext(env), custom(), a);
    await script(b.token, [{ status: 403, body: { reason: "ExpiredProviderToken" } }]);
    expect((await deliverToDevice(pushContext(env), custom(), b)).status).toBe("delivered");
    const [first] = await received(a.token);
    const [expired, renewed] = await received(b.token);
    expect(expired!.authorization).toBe(first!.authorization);
    expect(renewed!.status).toBe(200);
    expect(renewed!.authorization).not.toBe(expired!.authorization);
  });

  it("drops only the VoIP token when APNs reports it dead", async () => {
    const device = await iphone(user("u"));
    await script(device.voipToken!, [{ status: 410, body: { reason: "Unregistered", timestamp: Date.now() + 1000 } }]);
    const ringing: PushNotification = { ...custom(), kind: "incoming-call", content: undefined, call: { callId: "C", caller: "alice", media: "audio" } };
    expect((await deliverToDevice(pushContext(env), ringing, device)).status).toBe("dead");
    const [left] = await listDevices(env.DEVICES, device.userId);
    expect(left).toMatchObject({ token: device.token });
    expect(left!.voipToken).toBeUndefined();
  });
});

describe("queue delivery", () => {
  it("retries a transient failure after Retry-After and delivers exactly once", async () => {
    const erin = user("erin");
    const device = await android(erin);
    await script(device.token, [{ ...fcmError(503, "UNAVAILABLE"), retryAfter: "1" }]);
    const response = await api(undefined, "POST", "/v1/push/send", undefined);
    expect(response.status).toBe(401);
    const sent = await fetchAsPusher({ userIds: [erin], notification: { kind: "custom", title: "Hi" } });
    expect(sent.devices).toEqual([{ userId: erin, deviceId: device.deviceId, provider: "fcm", status: "retrying", reason: "UNAVAILABLE" }]);
    const [failed, delivered] = await receivedAtLeast(device.token, 2, 15_000);
    expect([failed!.status, delivered!.status]).toEqual([503, 200]);
    expect(delivered!.at - failed!.at).toBeGreaterThanOrEqual(900);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await received(device.token)).toHaveLength(2);
  }, 30_000);

  it("the consumer retries with back-off no shorter than Retry-After, acks what is done, expired or invalid", async () => {
    const [ok, busy] = [await android(user("u")), await android(user("u"))];
    await script(busy.token, [{ ...fcmError(503, "UNAVAILABLE"), retryAfter: "7" }]);
    const notification = custom();
    const jobs: { id: string; body: unknown }[] = [
      { id: "ok", body: { type: "deliver", notification, userId: ok.userId, deviceId: ok.deviceId } satisfies PushJob },
      { id: "busy", body: { type: "deliver", notification, userId: busy.userId, deviceId: busy.deviceId } satisfies PushJob },
      { id: "expired", body: { type: "deliver", notification: { ...notification, expiresAt: Date.now() - 1 }, userId: ok.userId, deviceId: ok.deviceId } },
      { id: "gone", body: { type: "deliver", notification, userId: "nobody", deviceId: "none" } },
      { id: "invalid", body: { type: "teleport" } },
    ];
    const batch = createMessageBatch("secureconnect-push", jobs.map((job) => ({ ...job, timestamp: new Date(), attempts: 1 })));
    // getQueueResult reports which messages were retried but not their delay: watch retry() itself.
    const retried = vi.spyOn(batch.messages[1]!, "retry");
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["expired", "gone", "invalid", "ok"]);
    expect(result.retryMessages).toEqual([{ msgId: "busy" }]);
    expect(retried).toHaveBeenCalledWith({ delaySeconds: expect.any(Number) });
    expect(retried.mock.calls[0]![0]!.delaySeconds).toBeGreaterThanOrEqual(7);
    expect(await received(ok.token)).toHaveLength(1);
  });

  it("delivers a first attempt from the fan-out's snapshot, and reads KV again on a retry", async () => {
    const device = await android(user("u"));
    const notification = custom();
    // A device that is no longer in KV: the snapshot still serves the first attempt...
    const ghost: Device = { ...device, deviceId: "ghost", token: fcmToken() };
    const jobs = [1, 2].map((attempts) => ({
      id: `attempt-${attempts}`,
      timestamp: new Date(),
      attempts,
      body: { type: "deliver", notification, userId: ghost.userId, deviceId: ghost.deviceId, device: ghost } satisfies PushJob,
    }));
    const batch = createMessageBatch("secureconnect-push", jobs);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks.sort()).toEqual(["attempt-1", "attempt-2"]);
    // ...and only it: the retry found no device and sent nothing.
    expect(await received(ghost.token)).toHaveLength(1);
  });

  it("backs off by the attempt over the whole cycle, counting attempts made before queueing", async () => {
    const device = await android(user("u"));
    await script(device.token, [fcmError(503, "UNAVAILABLE")]);
    const job = { type: "deliver", notification: custom(), userId: device.userId, deviceId: device.deviceId, priorAttempts: 3 } satisfies PushJob;
    const batch = createMessageBatch("secureconnect-push", [{ id: "late", timestamp: new Date(), attempts: 1, body: job }]);
    const retried = vi.spyOn(batch.messages[0]!, "retry");
    await worker.queue(batch, env);
    // Attempt 4 of the cycle: 2 s × 2³ = 16 s, jittered into [8, 16].
    expect(retried.mock.calls[0]![0]!.delaySeconds).toBeGreaterThanOrEqual(8);
  });

  it("resumes a fan-out that failed half-way after the last queued device, never queueing one twice", async () => {
    // A full fan-out job: 8 users with 20 devices each, 160 deliveries in two sendBatch calls.
    const users = Array.from({ length: FANOUT_USERS_PER_JOB }, (_, u) => user(`many${u}`));
    for (const owner of users) {
      for (let n = 0; n < MAX_DEVICES_PER_USER; n++) {
        await registerDevice(env, owner, `d-${String(n).padStart(2, "0")}`, { provider: "fcm", token: fcmToken(), platform: "android" }, new Date());
      }
    }
    const total = FANOUT_USERS_PER_JOB * MAX_DEVICES_PER_USER;
    const notification = custom();
    const queued: PushJob[] = [];
    let batches = 0;
    // The queue binding, failing its second sendBatch once.
    const queue = {
      async sendBatch(messages: { body: PushJob }[]) {
        if (++batches === 2) throw new Error("queue unavailable");
        queued.push(...messages.map((message) => message.body));
      },
      async send(body: PushJob) {
        queued.push(body);
      },
    };
    const flaky = { ...env, PUSH_QUEUE: queue as unknown as Queue };
    const run = async (body: PushJob) => {
      const batch = createMessageBatch("secureconnect-push", [{ id: "fanout", timestamp: new Date(), attempts: 1, body }]);
      const ctx = createExecutionContext();
      await worker.queue(batch, flaky);
      return getQueueResult(batch, ctx);
    };
    expect((await run({ type: "fanout", notification, userIds: users })).explicitAcks).toEqual(["fanout"]);
    const resume = queued.find((job) => job.type === "fanout");
    // The first batch held devices 0–99: users 0–4, the last of them user 4's d-19.
    expect(resume).toMatchObject({ type: "fanout", resumeAfter: { userId: users[4], deviceId: "d-19" } });
    await run(resume!);
    const delivered = queued.flatMap((job) => (job.type === "deliver" ? [`${job.userId}/${job.deviceId}`] : []));
    expect(delivered).toHaveLength(total);
    expect(new Set(delivered).size).toBe(total);
  }, 30_000);

  it("the dead-letter consumer logs and acknowledges", async () => {
    const batch = createMessageBatch("secureconnect-push-dlq", [
      { id: "dead-1", timestamp: new Date(), attempts: 5, body: { type: "deliver", notification: custom(), userId: "u", deviceId: "d" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["dead-1"]);
  });
});

type SendResult = {
  notificationId: string;
  summary: Record<string, number>;
  devices: Record<string, string>[];
  topic?: Record<string, string>;
  queued?: { users: number; topicMembers: boolean };
};

/** `POST /v1/push/send` as a backend; fails unless the answer is `expected` (200, or 202 when queued). */
async function sendAsPusher(payload: unknown, expected: 200 | 202) {
  const response = await rawSend(payload);
  if (response.status !== expected) throw new Error(`push/send → ${response.status} ${await response.text()}`);
  return (await response.json()) as SendResult;
}

const fetchAsPusher = (payload: unknown) => sendAsPusher(payload, 200);

async function rawSend(payload: unknown, scope = "push:send") {
  const response = await worker.fetch(
    new Request("http://edge.test/v1/push/send", {
      method: "POST",
      headers: { ...(await authHeader("backend", scope ? { scope } : {})), "content-type": "application/json" },
      body: JSON.stringify(payload),
    }),
    env,
    createExecutionContext(),
  );
  return response;
}

describe("POST /v1/push/send", () => {
  it("needs the push:send scope, checked before the body", async () => {
    for (const payload of [{ userIds: ["x"], notification: { kind: "custom", title: "Hi" } }, { nonsense: true }]) {
      const response = await api(user("u"), "POST", "/v1/push/send", payload);
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    }
  });

  it.each([
    ["no target", { notification: { kind: "custom", title: "Hi" } }],
    ["a silent notification with a title", { userIds: ["x"], notification: { kind: "silent", title: "Hi" } }],
    ["a custom notification with nothing to show", { userIds: ["x"], notification: { kind: "custom" } }],
    ["a non-string data value", { userIds: ["x"], notification: { kind: "silent", data: { n: 1 } } }],
    ["an unknown kind", { userIds: ["x"], notification: { kind: "incoming-call", title: "x" } }],
    ["a bad topic", { topic: "no spaces", notification: { kind: "custom", title: "Hi" } }],
    ["a ttl of 0 (it would expire before the first attempt)", { userIds: ["x"], notification: { kind: "custom", title: "Hi", ttl: 0 } }],
  ])("answers 400 to %s", async (_name, payload) => {
    await expect(fetchAsPusher(payload)).rejects.toThrow(/→ 400/);
  });

  it("answers 413 to a notification too large for the providers", async () => {
    await expect(fetchAsPusher({ userIds: ["x"], notification: { kind: "custom", body: "x".repeat(1000), data: { pad: "y".repeat(4000) } } })).rejects.toThrow(/→ 413/);
  });

  it("answers 413 to a notification some device could never get: FCM carries a token of up to 600 characters in the body", async () => {
    // 3,300 bytes of data fit FCM's 4 KB addressed to a short topic, not to the longest token.
    await expect(fetchAsPusher({ userIds: ["x"], notification: { kind: "custom", title: "Hi", data: { pad: "y".repeat(3300) } } })).rejects.toThrow(/→ 413.*FCM would be \d+ bytes/);
    await expect(fetchAsPusher({ userIds: [user("x")], notification: { kind: "custom", title: "Hi", data: { pad: "y".repeat(3000) } } })).resolves.toBeDefined();
  });

  it(`sends to more than ${INLINE_MAX_USERS} users through the queue's fan-out: 202, every device once`, async () => {
    const users = Array.from({ length: INLINE_MAX_USERS + 5 }, (_, n) => user(`many${n}`));
    const phones = await Promise.all(users.map((userId) => android(userId)));
    const result = await sendAsPusher({ userIds: users, notification: { kind: "custom", title: "To all" } }, 202);
    expect(result.queued).toEqual({ users: users.length, topicMembers: false });
    expect(result.devices).toEqual([]);
    for (const phone of phones) await receivedAtLeast(phone.token, 1, 20_000);
    expect((await Promise.all(phones.map(async (phone) => (await received(phone.token)).length))).every((count) => count === 1)).toBe(true);
  }, 60_000);

  it(`splits fan-outs into jobs of at most ${FANOUT_USERS_PER_JOB} users (one KV list each), so a consumer batch stays under 1,000 KV operations`, () => {
    const messages = fanoutMessages(custom(), Array.from({ length: 33 }, (_, n) => `u${n % 30}`));
    expect(messages.map((message) => (message.body as FanoutJob).userIds.length)).toEqual([8, 8, 8, 6]);
    expect(new Set(messages.flatMap((message) => (message.body as FanoutJob).userIds)).size).toBe(30);
  });

  it("reports each device: delivered, removed (dead token), across providers", async () => {
    const frank = user("frank");
    const [good, dead, phone] = [await android(frank), await android(frank), await iphone(frank, false)];
    await script(dead.token, [fcmError(404, "UNREGISTERED")]);
    const result = await fetchAsPusher({ userIds: [frank], notification: { kind: "silent", data: { sync: "inbox" } } });
    expect(result.summary).toEqual({ delivered: 2, retrying: 0, removed: 1, failed: 0 });
    const status = Object.fromEntries(result.devices.map((device) => [device.deviceId, device.status]));
    expect(status).toEqual({ [good.deviceId]: "delivered", [dead.deviceId]: "removed", [phone.deviceId]: "delivered" });
    const [silent] = await received(phone.token);
    expect(silent!.headers).toMatchObject({ "apns-push-type": "background", "apns-priority": "5" });
    expect((await listDevices(env.DEVICES, frank)).map((device) => device.deviceId).sort()).toEqual([good.deviceId, phone.deviceId].sort());
  });
});

describe("topics", () => {
  it("retries a topic send that FCM answered 503 through the queue, once delivered", async () => {
    const topic = `alerts-${crypto.randomUUID().slice(0, 8)}`;
    await script(`topic:${topic}`, [{ ...fcmError(503, "UNAVAILABLE"), retryAfter: "1" }]);
    const result = await sendAsPusher({ topic, notification: { kind: "custom", title: "Storm" } }, 202);
    // The second app's project sent its own topic message at once; the default app's is retried.
    expect(result.topic).toEqual({
      name: topic,
      fcm: "retrying",
      reason: "UNAVAILABLE",
      apps: [
        { app: "default", fcm: "retrying", reason: "UNAVAILABLE" },
        { app: "second", fcm: "delivered" },
      ],
    });
    const [failed, delivered] = await receivedAtLeast(`topic:${topic}`, 2, 15_000);
    expect([failed!.status, delivered!.status]).toEqual([503, 200]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await received(`topic:${topic}`)).toHaveLength(2);
  }, 30_000);

  // Membership is a section 5.3 endpoint: the token needs push:send; its subject's devices are the ones it may move.
  const asMember = async (userId: string, path: string, payload: unknown, scope?: string) =>
    worker.fetch(
      new Request(`http://edge.test${path}`, {
        method: "POST",
        headers: { ...(await authHeader(userId, scope ? { scope } : {})), "content-type": "application/json" },
        body: JSON.stringify(payload),
      }),
      env,
      createExecutionContext(),
    );

  it("needs the push:send scope to change membership", async () => {
    const hal = user("hal");
    const pixel = await android(hal);
    const topic = `news-${crypto.randomUUID().slice(0, 8)}`;
    const response = await asMember(hal, `/v1/push/topics/${topic}/subscribe`, { deviceIds: [pixel.deviceId] });
    expect(response.status).toBe(403);
    expect(await received(`/topics/${topic}`)).toEqual([]);
  });

  it("subscribes the token subject's own devices (FCM at FCM, APNs kept here) and sends to them", async () => {
    const gina = user("gina");
    const topic = `news-${crypto.randomUUID().slice(0, 8)}`;
    const [pixel, phone] = [await android(gina), await iphone(gina, false)];
    const subscribe = await asMember(gina, `/v1/push/topics/${topic}/subscribe`, { deviceIds: [pixel.deviceId, phone.deviceId, "not-mine"] }, "push:send");
    expect(await subscribe.json()).toEqual({
      topic,
      results: [
        { deviceId: pixel.deviceId, status: "subscribed" },
        { deviceId: phone.deviceId, status: "subscribed" },
        { deviceId: "not-mine", status: "not_found" },
      ],
    });
    const [added] = await received(`/topics/${topic}`);
    expect(added!.headers.access_token_auth).toBe("true");
    expect(body<{ registration_tokens: string[] }>(added!).registration_tokens).toEqual([pixel.token]);

    const result = await sendAsPusher({ topic, notification: { kind: "custom", title: "Breaking" } }, 202);
    expect(result.topic).toEqual({ name: topic, fcm: "delivered", apps: [{ app: "default", fcm: "delivered" }, { app: "second", fcm: "delivered" }] });
    expect(result.queued).toEqual({ users: 0, topicMembers: true });
    expect(body<FcmBody>((await received(`topic:${topic}`))[0]!).message.topic).toBe(topic);
    // The iPhone is reached through the queue; the Android only through FCM's topic message.
    const [alert] = await receivedAtLeast(phone.token, 1);
    expect(body<Record<string, unknown>>(alert!)).toMatchObject({ aps: { alert: { title: "Breaking" } } });
    expect(await received(pixel.token)).toEqual([]);

    await asMember(gina, `/v1/push/topics/${topic}/unsubscribe`, { deviceIds: [pixel.deviceId, phone.deviceId] }, "push:send");
    await sendAsPusher({ topic, notification: { kind: "custom", title: "Again" } }, 202);
    await receivedAtLeast(`topic:${topic}`, 2);
    expect(await received(phone.token)).toHaveLength(1);
  });

  it("reaches a topic of any size a page (100 members) at a time through the queue, each APNs member once", async () => {
    const topic = `big-${crypto.randomUUID().slice(0, 8)}`;
    const phones: Device[] = [];
    // 6 users with up to 20 iPhones each, 105 members: two pages.
    for (let u = 0; u < 6; u++) {
      const owner = user(`fan${u}`);
      const mine: Device[] = [];
      for (let n = 0; n < (u < 5 ? 20 : 5); n++) mine.push(await iphone(owner, false));
      expect((await changeMembership(pushContext(env), owner, topic, mine.map((device) => device.deviceId), "subscribe")).results.every((r) => r.status === "subscribed")).toBe(true);
      phones.push(...mine);
    }
    await sendAsPusher({ topic, notification: { kind: "custom", title: "Everyone" } }, 202);
    for (const phone of phones) await receivedAtLeast(phone.token, 1, 20_000);
    const counts = await Promise.all(phones.map(async (phone) => (await received(phone.token)).length));
    expect(counts.every((count) => count === 1)).toBe(true);
  }, 60_000);

  it("a deleted device leaves its topics, here and at FCM: a new device under the same id hears none of them", async () => {
    const [owen, witness] = [user("owen"), user("witness")];
    const topic = `leave-${crypto.randomUUID().slice(0, 8)}`;
    const pixel = await registered(owen, { provider: "fcm", token: fcmToken(), platform: "android" });
    const phone = await registered(owen, { provider: "apns", token: apnsToken(), platform: "ios", environment: "sandbox" });
    const watcher = await iphone(witness, false);
    for (const [who, ids] of [[owen, [pixel.deviceId, phone.deviceId]], [witness, [watcher.deviceId]]] as const) {
      expect((await asMember(who, `/v1/push/topics/${topic}/subscribe`, { deviceIds: ids }, "push:send")).status).toBe(200);
    }
    expect((await api(owen, "DELETE", `/v1/devices/${pixel.deviceId}`)).status).toBe(204);
    expect((await api(owen, "DELETE", `/v1/devices/${phone.deviceId}`)).status).toBe(204);
    // FCM is told to drop the deleted Android's token from the topic.
    await vi.waitFor(async () => {
      const removals = (await received(`/topics/${topic}`)).filter((record) => body<{ action?: string }>(record).action === "batchRemove");
      expect(removals.map((record) => body<{ registration_tokens: string[] }>(record).registration_tokens)).toEqual([[pixel.token]]);
    }, { timeout: 8_000, interval: 100 });
    // A new phone under the old id, registered at once: it joined nothing.
    const newPhone = { provider: "apns", token: apnsToken(), platform: "ios", environment: "sandbox" };
    expect((await api(owen, "PUT", `/v1/devices/${phone.deviceId}`, newPhone)).status).toBe(201);
    await sendAsPusher({ topic, notification: { kind: "custom", title: "Members only" } }, 202);
    await receivedAtLeast(watcher.token, 1);
    // The topic's members page is sent before the witness hears, so the new phone would have been queued by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await received(newPhone.token)).toEqual([]);
    expect(await received(phone.token)).toEqual([]);
  }, 20_000);

  it("a device that re-registers with another FCM token or app keeps its topics: FCM's subscriptions follow it", async () => {
    const quinn = user("quinn");
    const [news, sport] = [`news-${crypto.randomUUID().slice(0, 8)}`, `sport-${crypto.randomUUID().slice(0, 8)}`];
    const first = fcmToken();
    const pixel = await registered(quinn, { provider: "fcm", token: first, platform: "android" });
    for (const topic of [news, sport]) {
      expect((await asMember(quinn, `/v1/push/topics/${topic}/subscribe`, { deviceIds: [pixel.deviceId] }, "push:send")).status).toBe(200);
    }
    const iidCalls = async (target: string) =>
      (await received(target)).map((record) => [body<{ action: string }>(record).action, body<{ registration_tokens: string[] }>(record).registration_tokens]);
    const untilCalls = (target: string, calls: unknown[]) => vi.waitFor(async () => expect(await iidCalls(target)).toEqual(calls), { timeout: 8_000, interval: 100 });

    // FCM refreshed the app's token: the new one joins both topics, then the old one leaves.
    const second = fcmToken();
    expect((await api(quinn, "PUT", `/v1/devices/${pixel.deviceId}`, { provider: "fcm", token: second, platform: "android" })).status).toBe(200);
    for (const topic of [news, sport]) await untilCalls(`/topics/${topic}`, [["batchAdd", [first]], ["batchAdd", [second]], ["batchRemove", [first]]]);
    expect((await topicMembersPage(env.DEVICES, news, undefined)).members).toEqual([{ userId: quinn, deviceId: pixel.deviceId, generation: pixel.createdAt }]);

    // The same token again changes nothing at FCM; moving to the second app moves it to that project's topic.
    expect((await api(quinn, "PUT", `/v1/devices/${pixel.deviceId}`, { provider: "fcm", token: second, platform: "android" })).status).toBe(200);
    expect((await api(quinn, "PUT", `/v1/devices/${pixel.deviceId}`, { provider: "fcm", token: second, platform: "android", app: "second" })).status).toBe(200);
    await untilCalls(`second-project//topics/${news}`, [["batchAdd", [second]]]);
    await untilCalls(`/topics/${news}`, [["batchAdd", [first]], ["batchAdd", [second]], ["batchRemove", [first]], ["batchRemove", [second]]]);
  }, 20_000);

  it("two quick token refreshes leave only the newest token in the topic at FCM", async () => {
    const sam = user("sam");
    const topic = `quick-${crypto.randomUUID().slice(0, 8)}`;
    const tokens = [fcmToken(), fcmToken(), fcmToken()];
    const pixel = await registered(sam, { provider: "fcm", token: tokens[0]!, platform: "android" });
    expect((await asMember(sam, `/v1/push/topics/${topic}/subscribe`, { deviceIds: [pixel.deviceId] }, "push:send")).status).toBe(200);
    for (const token of tokens.slice(1)) {
      expect((await api(sam, "PUT", `/v1/devices/${pixel.deviceId}`, { provider: "fcm", token, platform: "android" })).status).toBe(200);
    }
    // FCM's subscriptions, replayed from the Instance ID calls in the order FCM got them.
    const subscribed = async () => {
      const members = new Set<string>();
      for (const record of await received(`/topics/${topic}`)) {
        const { action, registration_tokens } = body<{ action: string; registration_tokens: string[] }>(record);
        for (const token of registration_tokens) action === "batchAdd" ? members.add(token) : members.delete(token);
      }
      return [...members];
    };
    await vi.waitFor(async () => {
      expect((await received(`/topics/${topic}`)).filter((record) => body<{ action: string }>(record).action === "batchRemove")).toHaveLength(2);
      expect(await subscribed()).toEqual([tokens[2]]);
    }, { timeout: 8_000, interval: 100 });
  }, 20_000);

  it("a move waits while this location's KV still shows the device from before its re-registration", async () => {
    const tess = user("tess");
    const topic = `stale-${crypto.randomUUID().slice(0, 8)}`;
    const pixel = await registered(tess, { provider: "fcm", token: fcmToken(), platform: "android" });
    expect((await changeMembership(pushContext(env), tess, topic, [pixel.deviceId], "subscribe")).results[0]!.status).toBe("subscribed");
    // The job of a re-registration one second after what KV shows here.
    const registeredAt = new Date(Date.parse(pixel.updatedAt) + 1000).toISOString();
    expect(await moveMembership(pushContext(env), { type: "move-membership", device: pixel, topic, registeredAt })).toBe("stale");
    expect((await received(`/topics/${topic}`)).map((record) => body<{ action: string }>(record).action)).toEqual(["batchAdd"]);
  });

  it("a move takes its add back when the device was removed while FCM was adding it", async () => {
    const uma = user("uma");
    const topic = `gone-${crypto.randomUUID().slice(0, 8)}`;
    const [first, second] = [fcmToken(), fcmToken()];
    const before = await registered(uma, { provider: "fcm", token: first, platform: "android" });
    expect((await changeMembership(pushContext(env), uma, topic, [before.deviceId], "subscribe")).results[0]!.status).toBe("subscribed");
    // Without the queue: this test runs the move itself, and no clean-up job of the removal runs beside it.
    const quiet = { ...env, PUSH_QUEUE: { send: async () => {}, sendBatch: async () => {} } as unknown as Queue };
    const now = (await registerDevice(quiet, uma, before.deviceId, { provider: "fcm", token: second, platform: "android" }, new Date())).device;
    // The app signs out while FCM is adding the new token: its device goes mid-call.
    const push = pushContext(env);
    const racing = {
      ...push,
      provider: (name: Parameters<typeof push.provider>[0], app?: string) => {
        const real = push.provider(name, app);
        const topics = real.topics!;
        return {
          ...real,
          topics: {
            ...topics,
            change: async (...args: Parameters<typeof topics.change>) => {
              const result = await topics.change(...args);
              if (args[2] === "add") await deleteDevice(quiet, uma, before.deviceId);
              return result;
            },
          },
        } as typeof real;
      },
    };
    expect(await moveMembership(racing, { type: "move-membership", device: before, topic, registeredAt: now.updatedAt })).toBe("retry");
    const calls = async () => (await received(`/topics/${topic}`)).map((record) => [body<{ action: string }>(record).action, body<{ registration_tokens: string[] }>(record).registration_tokens]);
    expect(await calls()).toEqual([["batchAdd", [first]], ["batchAdd", [second]], ["batchRemove", [second]]]);
    // The retry, on the device as it is then (gone): the old token leaves too.
    expect(await moveMembership(pushContext(env), { type: "move-membership", device: before, topic, registeredAt: now.updatedAt })).toBe("done");
    expect((await calls()).slice(3)).toEqual([["batchRemove", [first]]]);
  });

  it("a device that leaves FCM for APNs leaves FCM's topics and is reached as an APNs member", async () => {
    const rosa = user("rosa");
    const topic = `moved-${crypto.randomUUID().slice(0, 8)}`;
    const token = fcmToken();
    const device = await registered(rosa, { provider: "fcm", token, platform: "android" });
    expect((await asMember(rosa, `/v1/push/topics/${topic}/subscribe`, { deviceIds: [device.deviceId] }, "push:send")).status).toBe(200);
    const phone = { provider: "apns", token: apnsToken(), platform: "ios", environment: "sandbox" };
    expect((await api(rosa, "PUT", `/v1/devices/${device.deviceId}`, phone)).status).toBe(200);
    await vi.waitFor(async () => {
      const calls = (await received(`/topics/${topic}`)).map((record) => body<{ action: string }>(record).action);
      expect(calls).toEqual(["batchAdd", "batchRemove"]);
    }, { timeout: 8_000, interval: 100 });
    await sendAsPusher({ topic, notification: { kind: "custom", title: "Still here" } }, 202);
    const [alert] = await receivedAtLeast(phone.token, 1);
    expect(body<Record<string, unknown>>(alert!)).toMatchObject({ aps: { alert: { title: "Still here" } } });
  }, 20_000);

  it("a device removed for a dead token inside a deliver job leaves its topics through its own clean-up jobs", async () => {
    const pia = user("pia");
    const topic = `dead-${crypto.randomUUID().slice(0, 8)}`;
    const phone = await iphone(pia, false);
    expect((await changeMembership(pushContext(env), pia, topic, [phone.deviceId], "subscribe")).results).toEqual([{ deviceId: phone.deviceId, status: "subscribed" }]);
    expect((await topicMembersPage(env.DEVICES, topic, undefined)).members).toHaveLength(1);
    await script(phone.token, [{ status: 410, body: { reason: "Unregistered", timestamp: Date.now() + 60_000 } }]);
    await sendAsPusher({ topic, notification: { kind: "custom", title: "Last one" } }, 202);
    await receivedAtLeast(phone.token, 1);
    await vi.waitFor(async () => expect((await topicMembersPage(env.DEVICES, topic, undefined)).members).toEqual([]), { timeout: 8_000, interval: 100 });
    expect(await getDevice(env.DEVICES, pia, phone.deviceId)).toBeNull();
  }, 20_000);

  it("refuses a membership change naming more devices than a user can have", async () => {
    const ids = Array.from({ length: MAX_DEVICES_PER_USER + 1 }, (_, n) => `d${n}`);
    const response = await asMember(user("ivan"), `/v1/push/topics/news/subscribe`, { deviceIds: ids }, "push:send");
    expect(response.status).toBe(400);
  });
});
