/**
 * Provider details the delivery tests cannot show because the test environment points every
 * provider at the fakes: APNs' production and sandbox hosts per device, FCM topic membership in
 * chunks of 1000 tokens, the log provider used without credentials, and logs that never hold a
 * token in full.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apnsConfig, fcmConfig } from "../../src/push/config";
import { sendApns } from "../../src/push/apns";
import { pushContext } from "../../src/push/context";
import { deliverToDevice } from "../../src/push/delivery";
import { fcmTopicMembership } from "../../src/push/fcm";
import { apnsRequest } from "../../src/push/payloads";
import type { PushNotification } from "../../src/push/push-notification";
import { user } from "../support/calls";
import { android, fcmToken, iphone, received, script } from "../support/push";

const notification = (kind: PushNotification["kind"] = "custom"): PushNotification => ({
  id: crypto.randomUUID(),
  kind,
  createdAt: Date.now(),
  expiresAt: Date.now() + 3600_000,
  ...(kind === "incoming-call" ? { call: { callId: "C", caller: "alice", media: "audio" as const } } : { content: { title: "Hi", priority: "high" as const } }),
});

afterEach(() => vi.restoreAllMocks());

describe("APNs hosts", () => {
  it.each([
    ["production", "https://api.push.apple.com"],
    ["sandbox", "https://api.sandbox.push.apple.com"],
  ] as const)("sends a %s device's push to %s when APNS_BASE_URL is not set", async (environment, host) => {
    const apns = { ...apnsConfig(env)!, baseUrl: undefined };
    const device = await iphone(user("u"), false, new Date(), environment);
    const urls: string[] = [];
    // Records where the request goes instead of leaving the machine.
    const fetcher = (async (input: RequestInfo | URL) => {
      urls.push(String(input));
      return new Response(null, { status: 200 });
    }) as typeof fetch;
    const outcome = await sendApns(env, apns, device, apnsRequest(notification(), device, apns.bundleId), fetcher);
    expect(outcome.status).toBe("delivered");
    expect(urls).toEqual([`${host}/3/device/${device.token}`]);
  });
});

describe("the APNs relay (APNS_RELAY_URL, APNS_RELAY_SECRET)", () => {
  const RELAY = { APNS_RELAY_URL: "https://turn-eu1.example.com:8443", APNS_RELAY_SECRET: "0123456789abcdef0123456789abcdef" };
  const withVars = (vars: Record<string, string | undefined>) => ({ ...env, APNS_BASE_URL: undefined, ...vars }) as unknown as Env;

  it.each([
    ["production", "/3/device/"],
    ["sandbox", "/sandbox/3/device/"],
  ] as const)("sends a %s device's push to the relay at %s<token>, with the secret in x-relay-secret", async (environment, path) => {
    const apns = apnsConfig(withVars(RELAY))!;
    const device = await iphone(user("u"), false, new Date(), environment);
    const sent: Request[] = [];
    // Records the request instead of leaving the machine.
    const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
      sent.push(new Request(input, init));
      return new Response(null, { status: 200 });
    }) as typeof fetch;
    expect(await sendApns(env, apns, device, apnsRequest(notification(), device, apns.bundleId), fetcher)).toEqual({ status: "delivered" });
    expect(sent.map((request) => request.url)).toEqual([`${RELAY.APNS_RELAY_URL}${path}${device.token}`]);
    expect(Object.fromEntries(sent[0]!.headers)).toMatchObject({ "x-relay-secret": RELAY.APNS_RELAY_SECRET, "apns-topic": apns.bundleId, "apns-push-type": "alert" });
  });

  it("accepts plain http to a loopback address only (tests)", () => {
    expect(apnsConfig(withVars({ ...RELAY, APNS_RELAY_URL: "http://127.0.0.1:8080/" }))!.relay).toEqual({ url: "http://127.0.0.1:8080", secret: RELAY.APNS_RELAY_SECRET });
    expect(apnsConfig(withVars({}))!.relay).toBeUndefined();
  });

  it.each([
    [{ APNS_RELAY_URL: RELAY.APNS_RELAY_URL }, "APNS_RELAY_URL and APNS_RELAY_SECRET go together"],
    [{ APNS_RELAY_SECRET: RELAY.APNS_RELAY_SECRET }, "APNS_RELAY_URL and APNS_RELAY_SECRET go together"],
    [{ ...RELAY, APNS_RELAY_SECRET: "short-secret-0123456789" }, "APNS_RELAY_SECRET must be at least 32 characters"],
    [{ ...RELAY, APNS_RELAY_SECRET: "0123456789abcdef 0123456789abcdef" }, "APNS_RELAY_SECRET must be hex, base64 or base64url"],
    [{ ...RELAY, APNS_RELAY_URL: "http://turn-eu1.example.com:8443" }, "APNS_RELAY_URL must be https"],
    [{ ...RELAY, APNS_RELAY_URL: "https://turn-eu1.example.com:8443/apns" }, "APNS_RELAY_URL must be a bare origin"],
    [{ ...RELAY, APNS_BASE_URL: "https://fake.example.com" }, "APNS_RELAY_URL and APNS_BASE_URL are both set"],
  ])("refuses %o, naming the variable and never the secret", (vars, message) => {
    const read = () => apnsConfig(withVars(vars));
    expect(read).toThrow(message);
    expect(read).not.toThrow(/0123456789abcdef/);
  });
});

describe("FCM topic membership", () => {
  it("sends 1,500 tokens as two Instance ID calls of at most 1,000", async () => {
    const topic = `big-${crypto.randomUUID().slice(0, 8)}`;
    const tokens = Array.from({ length: 1500 }, () => fcmToken());
    const results = await fcmTopicMembership(fcmConfig(env)!, topic, tokens, "add", fetch);
    expect(results).toHaveLength(1500);
    expect(results.every((result) => result.ok)).toBe(true);
    const calls = await received(`/topics/${topic}`);
    expect(calls.map((call) => (call.body as { registration_tokens: string[] }).registration_tokens.length)).toEqual([1000, 500]);
  });
});

describe("the log provider", () => {
  it("is what sends go to without provider credentials: one log line, the token shortened", async () => {
    const bare = { ...env, FCM_SERVICE_ACCOUNT: undefined, APNS_KEY: undefined, APNS_KEY_ID: undefined, APNS_TEAM_ID: undefined, APNS_BUNDLE_ID: undefined } as unknown as Env;
    const device = await android(user("u"));
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const result = await deliverToDevice(pushContext(bare), notification("incoming-call"), device);
    expect(result).toMatchObject({ status: "delivered", provider: "log" });
    const lines = log.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, string>);
    expect(lines).toEqual([expect.objectContaining({ event: "notification", provider: "log", kind: "incoming-call", callId: "C", deviceId: device.deviceId, token: `…${device.token.slice(-6)}` })]);
    expect(await received(device.token)).toEqual([]);
  });
});

describe("a malformed provider configuration", () => {
  it("fails that provider's devices, naming the variable, and delivers to the other provider", async () => {
    const broken = { ...env, APNS_KEY: "not a key" } as unknown as Env;
    const [ios, pixel] = [await iphone(user("u")), await android(user("u"))];
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const push = pushContext(broken);
    expect(await deliverToDevice(push, notification(), ios)).toMatchObject({ status: "failed", provider: "apns", reason: "provider misconfigured: check APNS_KEY" });
    expect(await deliverToDevice(push, notification(), pixel)).toMatchObject({ status: "delivered", provider: "fcm" });
    const logged = errors.mock.calls.map((call) => String(call[0])).join("\n");
    expect(logged).toContain('"event":"config_invalid"');
    expect(logged).not.toContain("not a key");
    expect(await received(ios.token)).toEqual([]);
    errors.mockRestore();
  });
});

describe("logs", () => {
  it("never hold a push token, VoIP token, access token or key, whatever the outcome", async () => {
    const [device, pixel] = [await iphone(user("u")), await android(user("u"))];
    await script(device.voipToken!, [{ status: 410, body: { reason: "Unregistered", timestamp: Date.now() + 1000 } }]);
    await script(device.token, [{ status: 500, body: { reason: "InternalServerError" } }]);
    await script(pixel.token, [{ status: 400, body: { error: { code: 400, status: "INVALID_ARGUMENT", message: "Invalid JSON payload" } } }]);
    const lines: string[] = [];
    for (const method of ["log", "warn", "error", "info", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
    const push = pushContext(env);
    await deliverToDevice(push, notification("incoming-call"), device);
    await deliverToDevice(push, notification(), device);
    await deliverToDevice(push, notification(), pixel);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    // The bearer tokens the providers saw: Google's access token and the APNs provider token.
    const bearer = async (target: string) => String((await received(target))[0]!.headers.authorization).split(" ")[1]!;
    const pem = (key: string) => key.replace(/-----[A-Z ]+-----|\s/g, "").slice(0, 40);
    const secrets = [
      device.token,
      device.voipToken!,
      pixel.token,
      await bearer(pixel.token),
      await bearer(device.token),
      pem(apnsConfig(env)!.key),
      pem(fcmConfig(env)!.privateKey),
    ];
    for (const secret of secrets) expect(secret.length).toBeGreaterThan(20);
    for (const line of lines) for (const secret of secrets) expect(line).not.toContain(secret.slice(0, 24));
  });
});
