/**
 * Devices in real KV (section 5.1): registration is idempotent, isolated per user, validated per
 * provider, never returns tokens in full, survives 20 concurrent registrations, holds the cap of
 * 20 under bursts of 28 and 40 (the user's DeviceRoster decides, seeded from KV on first use), and
 * a token that moves to another user leaves the old one; APNs tokens are one token in any case. Dead-token removal rules are tested here too; the
 * providers that report dead tokens are tested in test/push.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { listDevices, MAX_DEVICES_PER_USER, registerDevice, removeDeadToken, userKeyPart } from "../../src/devices/store";
import { api, user } from "../support/calls";

const fcmToken = (seed: string) => `${seed}:APA91b${"x".repeat(120)}${seed}`.replace(/[^A-Za-z0-9_:\-.]/g, "_").slice(0, 200);
const apnsToken = (seed: number) => seed.toString(16).padStart(64, "a");

describe("PUT /v1/devices/{deviceId}", () => {
  it("registers (201), then updates (200) the same device, and lists it without the token", async () => {
    const alice = user("alice");
    const token = fcmToken("pixel");
    const first = await api(alice, "PUT", "/v1/devices/pixel-8", { provider: "fcm", token, platform: "android", appId: "com.example.app" });
    expect(first.status).toBe(201);
    const created = (await first.json()) as Record<string, string>;
    expect(created).toMatchObject({ deviceId: "pixel-8", provider: "fcm", platform: "android", appId: "com.example.app", tokenSuffix: token.slice(-8) });
    expect(JSON.stringify(created)).not.toContain(token);

    const second = await api(alice, "PUT", "/v1/devices/pixel-8", { provider: "fcm", token, platform: "android" });
    expect(second.status).toBe(200);
    const updated = (await second.json()) as Record<string, string>;
    expect(updated.createdAt).toBe(created.createdAt);

    const listed = (await (await api(alice, "GET", "/v1/devices")).json()) as { devices: Record<string, string>[] };
    expect(listed.devices).toHaveLength(1);
    expect(listed.devices[0]).toMatchObject({ deviceId: "pixel-8", tokenSuffix: token.slice(-8) });
    expect(JSON.stringify(listed)).not.toContain(token);
  });

  it("stores APNs devices with their VoIP token and environment (production by default)", async () => {
    const bob = user("bob");
    const response = await api(bob, "PUT", "/v1/devices/iphone", { provider: "apns", token: apnsToken(1), voipToken: apnsToken(2), platform: "ios" });
    expect(await response.json()).toMatchObject({ environment: "production", voipTokenSuffix: apnsToken(2).slice(-8) });
    const [device] = await listDevices(env.DEVICES, bob);
    expect(device).toMatchObject({ provider: "apns", token: apnsToken(1), voipToken: apnsToken(2), environment: "production" });
  });

  it.each([
    ["an APNs token that is not hex", { provider: "apns", token: "z".repeat(64), platform: "ios" }, "token"],
    ["a short APNs token", { provider: "apns", token: "ab12", platform: "ios" }, "token"],
    ["a short FCM token", { provider: "fcm", token: "abc", platform: "android" }, "token"],
    ["an FCM token with spaces", { provider: "fcm", token: `${"a".repeat(80)} b`, platform: "android" }, "token"],
    ["an oversized FCM token", { provider: "fcm", token: "a".repeat(601), platform: "android" }, "token"],
    ["APNs on android", { provider: "apns", token: apnsToken(3), platform: "android" }, "platform"],
    ["a VoIP token on FCM", { provider: "fcm", token: fcmToken("x"), platform: "android", voipToken: apnsToken(4) }, "provider"],
    ["an unknown provider", { provider: "hms", token: fcmToken("x"), platform: "android" }, "provider"],
    ["an unknown field", { provider: "fcm", token: fcmToken("x"), platform: "android", extra: 1 }, "extra"],
    ["a missing token", { provider: "fcm", platform: "android" }, "token"],
  ])("answers 400 to %s", async (_name, body, field) => {
    const response = await api(user("carol"), "PUT", "/v1/devices/d1", body);
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("invalid_request");
    expect(error.message).toContain(field);
  });

  it("answers 400 to a bad device id", async () => {
    const response = await api(user("carol"), "PUT", "/v1/devices/has%20space", { provider: "fcm", token: fcmToken("x"), platform: "android" });
    expect(response.status).toBe(400);
  });

  it(`keeps every one of ${MAX_DEVICES_PER_USER} concurrent registrations for one user (the most a user keeps)`, async () => {
    const dave = user("dave");
    const count = MAX_DEVICES_PER_USER;
    const responses = await Promise.all(
      Array.from({ length: count }, (_, n) => api(dave, "PUT", `/v1/devices/device-${n}`, { provider: "fcm", token: fcmToken(`d${n}`), platform: "android" })),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(count).fill(201));
    const listed = (await (await api(dave, "GET", "/v1/devices")).json()) as { devices: { deviceId: string }[] };
    expect(listed.devices.map((device) => device.deviceId).sort()).toEqual(Array.from({ length: count }, (_, n) => `device-${n}`).sort());
  });
});

describe(`the cap of ${MAX_DEVICES_PER_USER} devices under bursts`, () => {
  const register = (userId: string, deviceId: string) =>
    registerDevice(env, userId, deviceId, { provider: "fcm", token: fcmToken(`${userId}-${deviceId}`), platform: "android" }, new Date());

  it("28 concurrent registrations through the API leave exactly the cap, each answered 201", async () => {
    const mia = user("mia");
    const responses = await Promise.all(
      Array.from({ length: 28 }, (_, n) => api(mia, "PUT", `/v1/devices/burst-${n}`, { provider: "fcm", token: fcmToken(`${mia}-${n}`), platform: "android" })),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(28).fill(201));
    expect(await listDevices(env.DEVICES, mia)).toHaveLength(MAX_DEVICES_PER_USER);
  });

  it("two bursts of 40 a while apart leave the cap, the second burst's devices the newest", async () => {
    const noah = user("noah");
    await Promise.all(Array.from({ length: 40 }, (_, n) => register(noah, `first-${n}`)));
    expect(await listDevices(env.DEVICES, noah)).toHaveLength(MAX_DEVICES_PER_USER);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all(Array.from({ length: 40 }, (_, n) => register(noah, `second-${n}`)));
    const kept = await listDevices(env.DEVICES, noah);
    expect(kept).toHaveLength(MAX_DEVICES_PER_USER);
    expect(kept.every((device) => device.deviceId.startsWith("second-"))).toBe(true);
  });

  it("a roster first used on a deployment that already had devices in KV counts them: the oldest goes", async () => {
    const olga = user("olga");
    const start = Date.parse("2026-11-24T10:00:00Z");
    for (let n = 0; n < MAX_DEVICES_PER_USER; n++) {
      await registerDevice(env, olga, `old-${n}`, { provider: "fcm", token: fcmToken(`${olga}-${n}`), platform: "android" }, new Date(start + n * 60_000));
    }
    // As before rosters existed: the devices are in KV, the user's roster has never been used.
    const roster = env.DEVICE_ROSTERS.get(env.DEVICE_ROSTERS.idFromName(await userKeyPart(olga)));
    await runInDurableObject(roster, (_instance, state) => state.storage.deleteAll());
    expect(await roster.deviceIds()).toEqual([]);
    await register(olga, "new");
    const ids = (await listDevices(env.DEVICES, olga)).map((device) => device.deviceId);
    expect(ids).toHaveLength(MAX_DEVICES_PER_USER);
    expect(ids).toContain("new");
    expect(ids).not.toContain("old-0");
    expect((await roster.deviceIds()).sort()).toEqual([...ids].sort());
  });
});

describe("DeviceRoster", () => {
  const at = (n: number) => new Date(Date.parse("2026-11-24T10:00:00Z") + n * 1000).toISOString();
  const newRoster = () => env.DEVICE_ROSTERS.get(env.DEVICE_ROSTERS.idFromName(crypto.randomUUID()));

  it("keeps a registration evicted before its own admission evicted: seeding counted it, a later device pushed it out", async () => {
    const roster = newRoster();
    // In KV when the roster seeded: "late" (its registration still on its way) and 19 others.
    const seeded = [{ deviceId: "late", updatedAt: at(0) }, ...Array.from({ length: 19 }, (_, n) => ({ deviceId: `d${n}`, updatedAt: at(n + 1) }))];
    expect(await roster.admit("newest", at(30), async () => seeded)).toEqual(["late"]);
    expect(await roster.admit("late", at(0), async () => [])).toEqual(["late"]);
    expect(await roster.deviceIds()).toHaveLength(MAX_DEVICES_PER_USER);
    expect(await roster.deviceIds()).not.toContain("late");
    // Registered again later, it is a new registration like any other.
    expect(await roster.admit("late", at(40), async () => [])).toEqual(["d0"]);
  });

  it("admits again a device it evicted after admitting it, whatever its clock says", async () => {
    const roster = newRoster();
    for (let n = 0; n < MAX_DEVICES_PER_USER; n++) await roster.admit(`d${n}`, at(n + 10), async () => []);
    expect(await roster.admit("newer", at(100), async () => [])).toEqual(["d0"]);
    // d0's next registration comes from a clock behind the roster's newest: still admitted.
    expect(await roster.admit("d0", at(5), async () => [])).toEqual(["d1"]);
    expect(await roster.deviceIds()).toContain("d0");
  });
});

describe("isolation and ownership", () => {
  it("shows and deletes only the caller's own devices", async () => {
    const [erin, frank] = [user("erin"), user("frank")];
    await api(erin, "PUT", "/v1/devices/phone", { provider: "fcm", token: fcmToken("erin"), platform: "android" });
    expect(((await (await api(frank, "GET", "/v1/devices")).json()) as { devices: unknown[] }).devices).toEqual([]);
    expect((await api(frank, "DELETE", "/v1/devices/phone")).status).toBe(404);
    expect((await api(erin, "DELETE", "/v1/devices/phone")).status).toBe(204);
    expect((await api(erin, "DELETE", "/v1/devices/phone")).status).toBe(404);
    expect(((await (await api(erin, "GET", "/v1/devices")).json()) as { devices: unknown[] }).devices).toEqual([]);
  });

  it("keeps apart users whose ids share a prefix up to a colon (alice and alice:x)", async () => {
    const alice = user("alice");
    const aliceX = `${alice}:x`;
    await api(aliceX, "PUT", "/v1/devices/y", { provider: "fcm", token: fcmToken("aliceX"), platform: "android" });
    expect(((await (await api(alice, "GET", "/v1/devices")).json()) as { devices: unknown[] }).devices).toEqual([]);
    expect(await listDevices(env.DEVICES, alice)).toEqual([]);
    // "alice" + device "x:y" would have been the same key as "alice:x" + device "y".
    expect((await api(alice, "DELETE", "/v1/devices/x:y")).status).toBe(404);
    expect((await api(alice, "PUT", "/v1/devices/x:y", { provider: "fcm", token: fcmToken("alice"), platform: "android" })).status).toBe(201);
    expect((await listDevices(env.DEVICES, aliceX)).map((device) => [device.deviceId, device.token])).toEqual([["y", fcmToken("aliceX")]]);
  });

  it("moves a token that another user registers (a phone changed hands)", async () => {
    const [gina, hank] = [user("gina"), user("hank")];
    const token = fcmToken("shared");
    await api(gina, "PUT", "/v1/devices/old-phone", { provider: "fcm", token, platform: "android" });
    await api(hank, "PUT", "/v1/devices/new-phone", { provider: "fcm", token, platform: "android" });
    expect(await listDevices(env.DEVICES, gina)).toEqual([]);
    expect((await listDevices(env.DEVICES, hank)).map((device) => device.deviceId)).toEqual(["new-phone"]);
  });
});

describe("APNs token case", () => {
  it("reads one hex token in upper and lower case as one token: lower-case stored, moved rather than doubled", async () => {
    const [kate, liam] = [user("kate"), user("liam")];
    const [token, voip] = [apnsToken(30).replace(/a/g, "b"), apnsToken(31).replace(/a/g, "c")];
    const upper = await api(kate, "PUT", "/v1/devices/iphone", { provider: "apns", token: token.toUpperCase(), voipToken: voip.toUpperCase(), platform: "ios" });
    expect(upper.status).toBe(201);
    expect(await listDevices(env.DEVICES, kate)).toEqual([expect.objectContaining({ token, voipToken: voip })]);
    // The same phone, its token written in lower case, under another user: it moves there.
    expect((await api(liam, "PUT", "/v1/devices/iphone", { provider: "apns", token, voipToken: voip, platform: "ios" })).status).toBe(201);
    expect(await listDevices(env.DEVICES, kate)).toEqual([]);
    expect((await listDevices(env.DEVICES, liam)).map((device) => device.token)).toEqual([token]);
  });
});

describe("removeDeadToken", () => {
  it("removes the device whose token a provider reported dead, unless it re-registered since", async () => {
    const ivy = user("ivy");
    const t0 = new Date("2026-11-24T10:00:00Z");
    await registerDevice(env, ivy, "a", { provider: "apns", token: apnsToken(10), platform: "ios" }, t0);
    await registerDevice(env, ivy, "b", { provider: "apns", token: apnsToken(11), platform: "ios" }, new Date("2026-11-24T12:00:00Z"));
    expect(await removeDeadToken(env, ivy, "a", apnsToken(10), new Date("2026-11-24T11:00:00Z"))).toBe("removed");
    expect(await removeDeadToken(env, ivy, "b", apnsToken(11), new Date("2026-11-24T11:00:00Z"))).toBe("kept");
    expect(await removeDeadToken(env, ivy, "b", apnsToken(99))).toBe("kept");
    expect((await listDevices(env.DEVICES, ivy)).map((device) => device.deviceId)).toEqual(["b"]);
  });

  it("drops only the VoIP token when that one is dead", async () => {
    const jack = user("jack");
    await registerDevice(env, jack, "iphone", { provider: "apns", token: apnsToken(20), voipToken: apnsToken(21), platform: "ios" }, new Date());
    expect(await removeDeadToken(env, jack, "iphone", apnsToken(21))).toBe("removed");
    const [device] = await listDevices(env.DEVICES, jack);
    expect(device).toMatchObject({ token: apnsToken(20) });
    expect(device!.voipToken).toBeUndefined();
  });
});
