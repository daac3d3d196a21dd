/**
 * Several apps behind one deployment, against the fake providers (test/support/fake-push.ts),
 * which hold two customers' credentials: the default app's (FCM_SERVICE_ACCOUNT, APNS_*) and the
 * "second" app's (PUSH_APPS and PUSH_APP_KEYS_SECOND, its own Firebase project, APNs key, team and
 * bundle), and refuse a token of one used for the other.
 * Proves: a device registers with an `app` (default: the default app), an unknown app or an
 * undeclared provider is a 400 naming it; each device is sent with its own app's credentials
 * (Google access token, APNs provider token, topic/bundle, project); provider tokens are per app;
 * a misconfigured app fails only its own devices, naming its variable, and the push check reports
 * every app; PUSH_APPS is validated by name; topics go to every app's project.
 * Not covered: real Google and Apple.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app as api } from "../../src/api";
import { getDevice, listDevices } from "../../src/devices/store";
import { pushApps } from "../../src/push/apps";
import type { PushCheck } from "../../src/push/check";
import { pushContext } from "../../src/push/context";
import { deliverToDevice } from "../../src/push/delivery";
import { PROBE_TOPIC } from "../../src/push/fcm";
import type { PushNotification } from "../../src/push/push-notification";
import { api as request, placeCall, user } from "../support/calls";
import { apnsToken, fcmToken, received, receivedAtLeast } from "../support/push";
import { authHeader } from "../support/tokens";

const SECOND_BUNDLE = "com.example.second";
const SECOND_PROJECT = "second-project";

const custom = (): PushNotification => ({
  id: crypto.randomUUID(),
  kind: "custom",
  createdAt: Date.now(),
  expiresAt: Date.now() + 3600_000,
  content: { title: "Hello", priority: "high" },
});

/** `PUT /v1/devices/{id}` through the HTTP app with `environment` (the test env unless given). */
async function put(userId: string, deviceId: string, body: object, environment: Env = env): Promise<Response> {
  return api.request(`/v1/devices/${deviceId}`, { method: "PUT", headers: { ...(await authHeader(userId)), "content-type": "application/json" }, body: JSON.stringify(body) }, environment);
}

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

afterEach(() => vi.restoreAllMocks());

describe("registering with an app", () => {
  it("stores the app (default when none is named) and shows it", async () => {
    const alice = user("alice");
    expect((await put(alice, "work", { provider: "apns", token: apnsToken(), platform: "ios", app: "second" })).status).toBe(201);
    expect((await put(alice, "home", { provider: "fcm", token: fcmToken(), platform: "android" })).status).toBe(201);
    const listed = (await (await request(alice, "GET", "/v1/devices")).json()) as { devices: { deviceId: string; app: string }[] };
    expect(Object.fromEntries(listed.devices.map((device) => [device.deviceId, device.app]))).toEqual({ work: "second", home: "default" });
    expect((await getDevice(env.DEVICES, alice, "work"))!.app).toBe("second");
  });

  it("answers 400 naming an app the deployment does not serve, and the ones it does", async () => {
    const response = await put(user("bob"), "phone", { provider: "fcm", token: fcmToken(), platform: "android", app: "third" });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("invalid_request");
    expect(error.message).toContain('unknown app "third"');
    expect(error.message).toContain('"default", "second"');
  });

  it("answers 400 to a provider the app does not declare", async () => {
    const fcmOnly = { ...env, PUSH_APPS: JSON.stringify({ second: { fcm: true } }) } as unknown as Env;
    const response = await put(user("carl"), "phone", { provider: "apns", token: apnsToken(), platform: "ios", app: "second" }, fcmOnly);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toContain('app "second" has no apns credentials');
  });

  it("answers 400 to a malformed app id", async () => {
    const response = await put(user("dana"), "phone", { provider: "fcm", token: fcmToken(), platform: "android", app: "Not An App" });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toContain("app");
  });
});

describe("each device with its own app's credentials", () => {
  it("rings the callee's devices of both apps, each signed and addressed for its own app", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const [defaultPhone, secondPhone, secondPixel] = [apnsToken(), apnsToken(), fcmToken()];
    await put(bob, "default-phone", { provider: "apns", token: defaultPhone, platform: "ios", environment: "sandbox" });
    await put(bob, "second-phone", { provider: "apns", token: secondPhone, platform: "ios", environment: "sandbox", app: "second" });
    await put(bob, "second-pixel", { provider: "fcm", token: secondPixel, platform: "android", app: "second" });
    const { callId } = await placeCall(alice, [bob]);
    const [mine] = await receivedAtLeast(defaultPhone, 1);
    const [theirs] = await receivedAtLeast(secondPhone, 1);
    const [android] = await receivedAtLeast(secondPixel, 1);
    // The fake accepts each only with the right key (kid, team) and a topic of that key's app.
    expect([mine!.status, theirs!.status, android!.status]).toEqual([200, 200, 200]);
    expect(mine!.headers["apns-topic"]).toBe("com.example.calls");
    expect(theirs!.headers["apns-topic"]).toBe(SECOND_BUNDLE);
    expect(mine!.authorization).not.toBe(theirs!.authorization);
    expect((android!.body as { message: { data: Record<string, string> } }).message.data).toMatchObject({ type: "incoming-call", callId });
  });

  it("caches provider tokens per app: one app's sends share theirs, the other app's differ", async () => {
    const carol = user("carol");
    const tokens = [apnsToken(), apnsToken(), apnsToken()];
    await put(carol, "a", { provider: "apns", token: tokens[0]!, platform: "ios", app: "second" });
    await put(carol, "b", { provider: "apns", token: tokens[1]!, platform: "ios", app: "second" });
    await put(carol, "c", { provider: "apns", token: tokens[2]!, platform: "ios" });
    const push = pushContext(env);
    for (const device of await listDevices(env.DEVICES, carol)) expect((await deliverToDevice(push, custom(), device)).status).toBe("delivered");
    const [a, b, c] = await Promise.all(tokens.map(async (token) => (await received(token))[0]!.authorization));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it("a misconfigured app fails only its own devices, loudly, naming its variable and never its value", async () => {
    const broken = { ...env, PUSH_APP_KEYS_SECOND: JSON.stringify({ fcmServiceAccount: { project_id: "x" }, apnsKey: "secret-but-not-a-key" }) } as unknown as Env;
    const dave = user("dave");
    await put(dave, "theirs", { provider: "fcm", token: fcmToken(), platform: "android", app: "second" }, broken);
    await put(dave, "mine", { provider: "fcm", token: fcmToken(), platform: "android" }, broken);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const push = pushContext(broken);
    const devices = Object.fromEntries((await listDevices(env.DEVICES, dave)).map((device) => [device.deviceId, device]));
    expect(await deliverToDevice(push, custom(), devices.theirs!)).toMatchObject({ status: "failed", provider: "fcm", reason: "provider misconfigured: check PUSH_APP_KEYS_SECOND" });
    expect(await deliverToDevice(push, custom(), devices.mine!)).toMatchObject({ status: "delivered", provider: "fcm" });
    const logged = errors.mock.calls.map((call) => String(call[0])).join("\n");
    expect(logged).toContain('"event":"config_invalid"');
    expect(logged).toContain('"app":"second"');
    expect(logged).not.toContain("secret-but-not-a-key");
    expect(await received(devices.theirs!.token)).toEqual([]);
  });

  it("an app without its keys secret fails its devices naming the secret", async () => {
    const missing = { ...env, PUSH_APP_KEYS_SECOND: undefined } as unknown as Env;
    vi.spyOn(console, "error").mockImplementation(() => {});
    const now = new Date().toISOString();
    const device = { deviceId: "d", userId: user("erin"), provider: "apns" as const, token: apnsToken(), platform: "ios" as const, app: "second", createdAt: now, updatedAt: now };
    expect(await deliverToDevice(pushContext(missing), custom(), device)).toMatchObject({ status: "failed", reason: "provider misconfigured: check PUSH_APP_KEYS_SECOND" });
  });

  it("sends a topic to every app's project, and subscribes each app's FCM devices at its own project", async () => {
    const fay = user("fay");
    const topic = `apps-${crypto.randomUUID().slice(0, 8)}`;
    const pixel = fcmToken();
    await put(fay, "pixel", { provider: "fcm", token: pixel, platform: "android", app: "second" });
    const headers = { ...(await authHeader(fay, { scope: "push:send" })), "content-type": "application/json" };
    const subscribed = await api.request(`/v1/push/topics/${topic}/subscribe`, { method: "POST", headers, body: JSON.stringify({ deviceIds: ["pixel"] }) }, env);
    expect(await subscribed.json()).toEqual({ topic, results: [{ deviceId: "pixel", status: "subscribed" }] });
    expect((await received(`${SECOND_PROJECT}//topics/${topic}`)).map((record) => (record.body as { registration_tokens: string[] }).registration_tokens)).toEqual([[pixel]]);
    expect(await received(`/topics/${topic}`)).toEqual([]);
    const backend = { ...(await authHeader("backend", { scope: "push:send" })), "content-type": "application/json" };
    const sent = await api.request("/v1/push/send", { method: "POST", headers: backend, body: JSON.stringify({ topic, notification: { kind: "custom", title: "Both" } }) }, env);
    expect(sent.status).toBe(202);
    expect(await received(`topic:${topic}`)).toHaveLength(1);
    expect(await received(`${SECOND_PROJECT}/topic:${topic}`)).toHaveLength(1);
  });
});

describe("an app with APNs only", () => {
  it("is left out of topic sends and topic changes at FCM, without a failure or a config error", async () => {
    const declared = JSON.parse((env as unknown as { PUSH_APPS: string }).PUSH_APPS) as Record<string, unknown>;
    const withApnsOnly = { ...env, PUSH_APPS: JSON.stringify({ ...declared, "ios-only": { apns: { keyId: "ABC123DEFG", teamId: "TEAM123456", bundleId: "com.example.ios" } } }), PUSH_APP_KEYS_IOS_ONLY: JSON.stringify({ apnsKey: (env as unknown as { APNS_KEY: string }).APNS_KEY }) } as Env;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const topic = `ios-${crypto.randomUUID().slice(0, 8)}`;
    const ivy = user("ivy");
    expect((await put(ivy, "iphone", { provider: "apns", token: apnsToken(), platform: "ios", app: "ios-only" }, withApnsOnly)).status).toBe(201);
    const headers = { ...(await authHeader(ivy, { scope: "push:send" })), "content-type": "application/json" };
    const subscribed = await api.request(`/v1/push/topics/${topic}/subscribe`, { method: "POST", headers, body: JSON.stringify({ deviceIds: ["iphone"] }) }, withApnsOnly);
    expect(await subscribed.json()).toEqual({ topic, results: [{ deviceId: "iphone", status: "subscribed" }] });
    const sent = await api.request("/v1/push/send", { method: "POST", headers, body: JSON.stringify({ topic, notification: { kind: "custom", title: "Hi" } }) }, withApnsOnly);
    const body = (await sent.json()) as { topic: { fcm: string; apps: { app: string }[] } };
    expect(body.topic.fcm).toBe("delivered");
    expect(body.topic.apps.map((outcome) => outcome.app).sort()).toEqual(["default", "second"]);
    expect(errors.mock.calls.map((call) => String(call[0])).filter((line) => line.includes("config_invalid"))).toEqual([]);
  });
});

describe("the push check covers every app", () => {
  const check = async (environment: Env) => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await api.request("/v1/admin/push/check", { method: "POST", headers: await authHeader("ops", { scope: "admin" }) }, environment);
    expect(response.status).toBe(200);
    return (await response.json()) as PushCheck;
  };

  it("probes each app's declared providers with that app's credentials", async () => {
    const before = (await received(`${SECOND_PROJECT}/topic:${PROBE_TOPIC}`)).length;
    const body = await check(env);
    expect(body.ok).toBe(true);
    expect(body.providers.fcm).toMatchObject({ configured: true, ok: true });
    expect(body.apps).toEqual({
      second: {
        fcm: { configured: true, ok: true, latencyMs: expect.any(Number), detail: expect.stringMatching(/validate_only message accepted/) },
        apns: { configured: true, ok: true, latencyMs: expect.any(Number), detail: expect.stringMatching(/provider token accepted/) },
      },
    });
    expect((await received(`${SECOND_PROJECT}/topic:${PROBE_TOPIC}`)).length).toBe(before + 1);
  });

  it("reports a misconfigured app on that app alone", async () => {
    const body = await check({ ...env, PUSH_APP_KEYS_SECOND: "{not json" } as unknown as Env);
    expect(body.ok).toBe(false);
    expect(body.providers.fcm).toMatchObject({ ok: true });
    expect(body.apps!.second).toEqual({
      fcm: { configured: true, ok: false, latencyMs: null, detail: "provider misconfigured: check PUSH_APP_KEYS_SECOND" },
      apns: { configured: true, ok: false, latencyMs: null, detail: "provider misconfigured: check PUSH_APP_KEYS_SECOND" },
    });
  });

  it("reports a malformed PUSH_APPS, and the default app still works", async () => {
    const body = await check({ ...env, PUSH_APPS: "[1, 2]" } as unknown as Env);
    expect(body.ok).toBe(false);
    expect(body.appsProblem).toBe("provider misconfigured: check PUSH_APPS");
    expect(body.providers.apns).toMatchObject({ ok: true });
  });
});

describe("PUSH_APPS", () => {
  const read = (value: unknown) => () => pushApps({ PUSH_APPS: typeof value === "string" ? value : JSON.stringify(value) });

  it.each([
    ["the reserved default app", { default: { fcm: true } }, 'must not declare "default"'],
    ["an app id with capitals", { Second: { fcm: true } }, "Second: Invalid key"],
    ["an unknown field", { second: { fcm: true, hms: true } }, "hms"],
    ["a malformed APNs key id", { second: { apns: { keyId: "short", teamId: "TEAM654321", bundleId: "com.example.x" } } }, "10-character key id"],
    ["not JSON", "{second", "is not valid JSON"],
  ])("refuses %s, naming PUSH_APPS", (_name, value, message) => {
    expect(read(value)).toThrow("PUSH_APPS");
    expect(read(value)).toThrow(message);
  });

  it("is optional: without it the default app is the only one", () => {
    expect([...pushApps({})]).toEqual([]);
  });
});
