/**
 * Abuse limits with the real Rate Limiting bindings of wrangler.toml (miniflare's simulation):
 * each limit is run into through the Worker's entrypoint, so the numbers in wrangler.toml and in
 * src/platform/request-limits.ts must agree for these to pass. The simulation's windows are aligned
 * to the wall clock, so each test starts right after a window opens rather than risk straddling
 * two of them.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_DEVICES_PER_USER, listDevices, registerDevice } from "../../src/devices/store";
import { consumeRateLimit, ipKey, RATE_LIMITS } from "../../src/platform/request-limits";
import { api, user } from "../support/calls";
import { SignalClient } from "../support/signal-client";
import { holdCallLimit, type CallRoom } from "../support/worker";
import { authHeader } from "../support/tokens";

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;
const fcmToken = (seed: string) => `${seed}-APA91b${"x".repeat(100)}`.slice(0, 160);

/** Waits (at most a period) until at least `needSeconds` of the current window remain. */
async function windowWithRoom(period: number, needSeconds = 20): Promise<void> {
  const left = period - ((Date.now() / 1000) % period);
  if (left < needSeconds) await new Promise((resolve) => setTimeout(resolve, left * 1000 + 250));
}

/** Sends `request` until it is refused or `limit + 1` went through; returns the statuses. */
async function runInto(limit: number, request: (n: number) => Promise<Response>): Promise<Response[]> {
  const responses: Response[] = [];
  for (let n = 0; n <= limit; n++) responses.push(await request(n));
  return responses;
}

async function expectRateLimited(response: Response, period: number): Promise<void> {
  expect(response.status).toBe(429);
  expect(response.headers.get("retry-after")).toBe(String(period));
  expect(response.headers.get("content-type")).toContain("application/json");
  expect((await errorOf(response)).code).toBe("rate_limited");
}

const TIMEOUT = 90_000;

/** `userId`'s line (`GET /v1/me/ws`), welcomed. */
async function openLine(userId: string): Promise<SignalClient> {
  const response = await exports.default.fetch("http://edge.test/v1/me/ws", { headers: { upgrade: "websocket", ...(await authHeader(userId)) } });
  if (!response.webSocket) throw new Error(`line upgrade → ${response.status}`);
  response.webSocket.accept();
  const client = new SignalClient(response.webSocket);
  await client.next("welcome");
  return client;
}

/**
 * A call to `callees` by a new caller already at the call limit through other isolates (other
 * machines, other locations; this one saw none of it), whose limiter answer waits for `release`;
 * returned once each of the callees' `lines` has rung.
 */
async function heldCallOverTheLimit(callees: string[], lines: SignalClient[]) {
  const caller = user("elsewhere");
  for (let n = 0; n < RATE_LIMITS.calls.limit; n++) await env.CALLS_RATE_LIMIT.limit({ key: caller });
  const release = holdCallLimit(caller);
  const posted = api(caller, "POST", "/v1/calls", { callees, media: "audio" });
  const rung = await Promise.all(lines.map(async (line) => ((await line.next("incoming-call")).call as { callId: string }).callId));
  return { caller, callId: rung[0]!, posted, release };
}

/** `caller`'s next call to `callee` is refused 429 and `callee`'s line hears nothing of it. */
async function expectNextCallRingsNobody(caller: string, callee: string, line: SignalClient) {
  await expectRateLimited(await api(caller, "POST", "/v1/calls", { callees: [callee], media: "audio" }), RATE_LIMITS.calls.period);
  expect(await framesUntilQuiet(line)).toEqual([]);
}

/** A call's pushes: the kinds its room handed to the push queue, and those still in its outbox. */
async function pushesOf(callId: string): Promise<{ sent: string[]; waiting: string[] }> {
  return runInDurableObject(env.CALL_ROOM.get(env.CALL_ROOM.idFromName(callId)), (room: CallRoom, state) => ({
    sent: room.recorder.notices.map((notice) => notice.kind),
    waiting: [...state.storage.kv.list<{ payload: { kind: string }[] }>({ prefix: "outbox/notices/" })].flatMap(([, entry]) => entry.payload.map((notice) => notice.kind)),
  }));
}

/** What `client` has received, once nothing more came for 300 ms (at most 5 s in all). */
async function framesUntilQuiet(client: SignalClient): Promise<{ type: string }[]> {
  const deadline = Date.now() + 5_000;
  let seen = -1;
  while (client.frames.length !== seen && Date.now() < deadline) {
    seen = client.frames.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return client.frames.splice(0) as { type: string }[];
}

describe("per-user limits", () => {
  it(
    "POST /v1/calls: the 11th call in a minute is 429 rate_limited with retry-after; other users are unaffected",
    async () => {
      const { limit, period } = RATE_LIMITS.calls;
      await windowWithRoom(period);
      const [caller, other, victim] = [user("spammer"), user("other"), user("victim")];
      const victimLine = await openLine(victim);
      const responses = await runInto(limit, () => api(caller, "POST", "/v1/calls", { callees: [victim], media: "audio" }));
      expect(responses.slice(0, limit).map((response) => response.status)).toEqual(Array(limit).fill(201));
      await expectRateLimited(responses[limit]!, period);
      // This isolate saw all ten: the eleventh was asked first, so the victim heard of ten calls.
      const heard = await framesUntilQuiet(victimLine);
      expect(heard.filter((frame) => frame.type === "incoming-call")).toHaveLength(limit);
      expect(heard.filter((frame) => frame.type === "call-update")).toEqual([]);
      victimLine.close();
      expect((await api(other, "POST", "/v1/calls", { callees: [caller], media: "audio" })).status).toBe(201);
      // Reading and answering calls is not limited by it.
      expect((await api(caller, "GET", "/v1/devices")).status).toBe(200);
    },
    TIMEOUT,
  );

  it(
    "POST /v1/calls: a call rung while the limiter is asked and then refused is withdrawn: its callee's line hears it end, no device is told, and the caller's next call rings nobody",
    async () => {
      const { period } = RATE_LIMITS.calls;
      await windowWithRoom(period);
      const callee = user("callee");
      const line = await openLine(callee);
      const { caller, callId, posted, release } = await heldCallOverTheLimit([callee], [line]);
      // Rung while the limiter has not answered: the incoming-call push waits for it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await pushesOf(callId)).toEqual({ sent: [], waiting: ["incoming-call"] });
      release();
      await expectRateLimited(await posted, period);
      expect(await line.next("call-update")).toEqual({ type: "call-update", call: { callId, state: "ended", endReason: "cancelled" } });
      // Refused: the push is dropped unsent.
      expect(await pushesOf(callId)).toEqual({ sent: [], waiting: [] });
      expect(await (await api(callee, "GET", `/v1/calls/${callId}`)).json()).toMatchObject({ state: "ended", endReason: "cancelled" });
      // Refused here once, the caller's next call is asked first: refused before anyone hears of it.
      await expectNextCallRingsNobody(caller, callee, line);
      line.close();
    },
    TIMEOUT,
  );

  it(
    "POST /v1/calls: no push of a call rung first goes before the limiter has answered, not even one a callee's decline causes meanwhile",
    async () => {
      const { period } = RATE_LIMITS.calls;
      await windowWithRoom(period);
      const [bob, carol] = [user("bob"), user("carol")];
      const [bobLine, carolLine] = [await openLine(bob), await openLine(carol)];
      const { callId, posted, release } = await heldCallOverTheLimit([bob, carol], [bobLine, carolLine]);
      // Bob declines while the limiter has not answered: the call still rings for Carol.
      expect((await api(bob, "POST", `/v1/calls/${callId}/decline`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const held = await pushesOf(callId);
      expect(held.sent).toEqual([]);
      expect(held.waiting[0]).toBe("incoming-call");
      release();
      await expectRateLimited(await posted, period);
      expect(await carolLine.next("call-update")).toEqual({ type: "call-update", call: { callId, state: "ended", endReason: "cancelled" } });
      expect(await pushesOf(callId)).toEqual({ sent: [], waiting: [] });
      bobLine.close();
      carolLine.close();
    },
    TIMEOUT,
  );

  it(
    "POST /v1/calls: a call rung first and answered before the limiter refused it stands, and the caller's next call rings nobody",
    async () => {
      const { period } = RATE_LIMITS.calls;
      await windowWithRoom(period);
      const callee = user("quick");
      const line = await openLine(callee);
      const { caller, callId, posted, release } = await heldCallOverTheLimit([callee], [line]);
      expect((await api(callee, "POST", `/v1/calls/${callId}/accept`)).status).toBe(200);
      release();
      const response = await posted;
      expect(response.status).toBe(201);
      expect(await (await api(caller, "GET", `/v1/calls/${callId}`)).json()).toMatchObject({ state: "active" });
      await framesUntilQuiet(line);
      // The refusal is remembered here all the same: the next call is asked first and refused unrung.
      await expectNextCallRingsNobody(caller, callee, line);
      line.close();
    },
    TIMEOUT,
  );

  it(
    "ICE servers and TURN credentials share one per-user budget",
    async () => {
      const { limit, period } = RATE_LIMITS.credentials;
      await windowWithRoom(period);
      const alice = user("alice");
      const responses = await runInto(limit, (n) => api(alice, "GET", n % 2 === 0 ? "/v1/calls/ice-servers" : "/v1/turn/credentials"));
      expect(responses.slice(0, limit).every((response) => response.status === 200)).toBe(true);
      await expectRateLimited(responses[limit]!, period);
      expect((await api(user("bob"), "GET", "/v1/turn/credentials")).status).toBe(200);
    },
    TIMEOUT,
  );

  it(
    "device writes (PUT and DELETE) share one per-user budget; listing is not counted",
    async () => {
      const { limit, period } = RATE_LIMITS.deviceWrites;
      await windowWithRoom(period);
      const carol = user("carol");
      const responses = await runInto(limit, (n) =>
        n % 3 === 2
          ? api(carol, "DELETE", `/v1/devices/d${n - 1}`)
          : api(carol, "PUT", `/v1/devices/d${n}`, { provider: "fcm", token: fcmToken(`c${n}`), platform: "android" }),
      );
      expect(responses.slice(0, limit).map((response) => response.status)).toEqual(Array.from({ length: limit }, (_, n) => (n % 3 === 2 ? 204 : 201)));
      await expectRateLimited(responses[limit]!, period);
      expect((await api(carol, "GET", "/v1/devices")).status).toBe(200);
    },
    TIMEOUT,
  );

  it(
    "topic subscribe and unsubscribe share one per-user budget, like device writes",
    async () => {
      const { limit, period } = RATE_LIMITS.topicWrites;
      await windowWithRoom(period);
      const [dora, other] = [user("dora"), user("other")];
      const pusher = async (userId: string) => ({ ...(await authHeader(userId, { scope: "push:send" })), "content-type": "application/json" });
      const change = async (userId: string, n: number) =>
        exports.default.fetch(`http://edge.test/v1/push/topics/t${n}/${n % 2 ? "unsubscribe" : "subscribe"}`, {
          method: "POST",
          headers: await pusher(userId),
          body: JSON.stringify({ deviceIds: ["none"] }),
        });
      const responses = await runInto(limit, (n) => change(dora, n));
      expect(responses.slice(0, limit).map((response) => response.status)).toEqual(Array(limit).fill(200));
      await expectRateLimited(responses[limit]!, period);
      expect((await change(other, 0)).status).toBe(200);
    },
    TIMEOUT,
  );
});

describe("call reports", () => {
  it(
    "POST /v1/calls/{callId}/report: past 30 a minute a user's reports are 429; the other participant's still go through",
    async () => {
      const { limit, period } = RATE_LIMITS.reports;
      await windowWithRoom(period);
      const [caller, callee] = [user("reporter"), user("callee")];
      const created = await api(caller, "POST", "/v1/calls", { callees: [callee], media: "audio" });
      const { callId } = (await created.json()) as { callId: string };
      const report = { trigger: "connected", outcome: "connected", iceRestarts: 0 };
      const responses = await runInto(limit, () => api(caller, "POST", `/v1/calls/${callId}/report`, report));
      expect(responses.slice(0, limit).map((response) => response.status)).toEqual(Array(limit).fill(204));
      await expectRateLimited(responses[limit]!, period);
      expect((await api(callee, "POST", `/v1/calls/${callId}/report`, report)).status).toBe(204);
    },
    TIMEOUT,
  );
});

describe("per-IP limit on requests without a valid token", () => {
  const from = (ip: string, headers: Record<string, string> = {}) => ({ headers: { "cf-connecting-ip": ip, ...headers } });

  it(
    "refused tokens count per IP: past the limit 429 instead of 401; a valid token from that IP still works",
    async () => {
      const { limit, period } = RATE_LIMITS.anonymous;
      await windowWithRoom(period);
      const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
      const responses = await runInto(limit, (n) =>
        exports.default.fetch("http://edge.test/v1/devices", from(ip, n % 2 ? { authorization: "Bearer not.a.jwt" } : {})),
      );
      expect(responses.slice(0, limit).map((response) => response.status)).toEqual(Array(limit).fill(401));
      await expectRateLimited(responses[limit]!, period);
      const valid = await exports.default.fetch("http://edge.test/v1/devices", from(ip, await authHeader(user("dana"))));
      expect(valid.status).toBe(200);
      // Another address has its own budget.
      expect((await exports.default.fetch("http://edge.test/v1/devices", from("203.0.113.7"))).status).toBe(401);
    },
    TIMEOUT,
  );

  it(
    "routes without a token count per IP (an IPv6 address by its /64); preflights are not counted",
    async () => {
      const { limit, period } = RATE_LIMITS.anonymous;
      await windowWithRoom(period);
      const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
      const preflight = { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "cf-connecting-ip": `${prefix}::9` } };
      for (let n = 0; n < 5; n++) expect((await exports.default.fetch("http://edge.test/v1/calls", preflight)).status).toBe(204);
      // Every address of the /64 draws on one budget.
      const responses = await runInto(limit, (n) => exports.default.fetch("http://edge.test/healthz", from(`${prefix}::${(n + 1).toString(16)}`)));
      expect(responses.slice(0, limit).every((response) => response.status === 200)).toBe(true);
      await expectRateLimited(responses[limit]!, period);
    },
    TIMEOUT,
  );

  it.each([
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:0001:0002::1", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1:2:3:4", "fe80:0:0:0::/64"],
    ["198.51.100.4", "198.51.100.4"],
  ])("counts %s as %s", (ip, key) => {
    expect(ipKey(ip)).toBe(key);
  });
});

describe("a limiter that fails", () => {
  it("lets the request through rather than take the service down", async () => {
    const broken = { ...env, CALLS_RATE_LIMIT: { limit: () => Promise.reject(new Error("limiter unavailable")) } } as unknown as Env;
    await expect(consumeRateLimit(broken, "calls", "someone")).resolves.toBeUndefined();
  });
});

describe(`at most ${MAX_DEVICES_PER_USER} devices per user`, () => {
  it("a new device beyond the cap evicts the least recently updated one", async () => {
    const erin = user("erin");
    const start = Date.parse("2026-11-24T10:00:00Z");
    // Registered directly (not through the API, whose write limit is lower than the cap), oldest first.
    for (let n = 0; n < MAX_DEVICES_PER_USER; n++) {
      await registerDevice(env, erin, `d${n}`, { provider: "fcm", token: fcmToken(`e${n}`), platform: "android" }, new Date(start + n * 60_000));
    }
    // Updating d0 makes d1 the least recently updated; updating never evicts.
    await registerDevice(env, erin, "d0", { provider: "fcm", token: fcmToken("e0"), platform: "android" }, new Date(start + 3_600_000));
    expect(await listDevices(env.DEVICES, erin)).toHaveLength(MAX_DEVICES_PER_USER);

    const response = await api(erin, "PUT", "/v1/devices/newest", { provider: "fcm", token: fcmToken("e-new"), platform: "android" });
    expect(response.status).toBe(201);
    const ids = (await listDevices(env.DEVICES, erin)).map((device) => device.deviceId);
    expect(ids).toHaveLength(MAX_DEVICES_PER_USER);
    expect(ids).toContain("newest");
    expect(ids).toContain("d0");
    expect(ids).not.toContain("d1");
  });
});
