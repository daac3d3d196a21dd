/**
 * Cloudflare Realtime TURN as a pool (`"provider": "cloudflare"`), through the whole app in
 * workerd against the fake of its API (test/support/fake-cloudflare-turn.ts, which checks the
 * bearer token, the path and the body and answers with the real shape): own pool first and the
 * managed one as fallback, managed alone, port-53 URLs dropped, one API call per user within
 * the reuse window, the 48 h cap, and every failure of the API falling back to the other pools
 * (or to STUN alone) with a 200. It does not reach Cloudflare.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api";
import { TEST_ENV } from "../support/env";
import { authHeader } from "../support/tokens";
import type { ReceivedTurnRequest } from "../support/fake-cloudflare-turn";

interface IceBody {
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  ttl: number;
  expiresAt: string;
  region: string;
}

const fakeApi = env as unknown as { TEST_TURN_API_URL: string; TEST_TURN_API_TOKEN: string };
const OWN_POOLS = JSON.parse(TEST_ENV.TURN_POOLS) as unknown[];
const MANAGED_POOL = { provider: "cloudflare" };
const FRANKFURT = { latitude: "50.1", longitude: "8.7", continent: "EU" };

/** An env with a managed pool whose key id is this test's own (so its requests can be counted). */
function managedEnv(options: { keyPrefix?: string; pools?: unknown[]; token?: string; extra?: Record<string, string> } = {}) {
  const keyId = `${options.keyPrefix ?? ""}${crypto.randomUUID().replaceAll("-", "")}`;
  const testEnv = {
    ...env,
    TURN_POOLS: JSON.stringify(options.pools ?? [...OWN_POOLS, MANAGED_POOL]),
    CLOUDFLARE_TURN_KEY_ID: keyId,
    CLOUDFLARE_TURN_API_TOKEN: options.token ?? fakeApi.TEST_TURN_API_TOKEN,
    CLOUDFLARE_TURN_BASE_URL: fakeApi.TEST_TURN_API_URL,
    ...options.extra,
  } as Env;
  return { testEnv, keyId };
}

async function ice(testEnv: Env, userId = `user-${crypto.randomUUID()}`, query = "") {
  const response = await app.fetch(new Request(`http://edge.test/v1/calls/ice-servers${query}`, { headers: await authHeader(userId), cf: FRANKFURT }), testEnv);
  return { status: response.status, body: (await response.json()) as IceBody };
}

const received = async (keyId: string) => (await (await fetch(`${fakeApi.TEST_TURN_API_URL}/_control/requests?key=${keyId}`)).json()) as ReceivedTurnRequest[];
const turnEntries = (body: IceBody) => body.iceServers.filter((server) => server.username);

describe("a managed pool beside own pools", () => {
  it("lists the nearest own pool first and the managed pool as the fallback, without port 53", async () => {
    const { testEnv, keyId } = managedEnv();
    const { status, body } = await ice(testEnv, "alice");
    expect(status).toBe(200);
    expect(body.region).toBe("eu");
    const [own, managed, ...rest] = turnEntries(body);
    expect(rest).toEqual([]);
    expect(own!.urls[0]).toBe("turn:turn-eu.example.com:3478?transport=udp");
    expect(own!.username).toMatch(/^\d+:alice$/);
    expect(managed!.urls).toEqual([
      "turn:turn.cloudflare.com:3478?transport=udp",
      "turn:turn.cloudflare.com:3478?transport=tcp",
      "turn:turn.cloudflare.com:80?transport=tcp",
      "turns:turn.cloudflare.com:5349?transport=tcp",
      "turns:turn.cloudflare.com:443?transport=tcp",
    ]);
    expect(managed!.username).toMatch(/^[0-9a-f]{64}$/);
    expect(body.iceServers[0]).toEqual({ urls: ["stun:turn-eu.example.com:3478", "stun:stun.cloudflare.com:3478", "stun:stun.example.net:3478"] });
    expect(JSON.stringify(body)).not.toMatch(/:53\b/);

    const [request] = await received(keyId);
    expect(request).toMatchObject({ authorized: true, status: 201, body: { ttl: 86_400, customIdentifier: expect.stringMatching(/^[0-9a-f]{32}$/) } });
    // Cloudflare's analytics get a hash of the user, not the user id.
    expect(JSON.stringify(request!.body)).not.toContain("alice");
  });

  it("asks the API once per user within the reuse window", async () => {
    const { testEnv, keyId } = managedEnv();
    const first = await ice(testEnv, "bob");
    const second = await ice(testEnv, "bob");
    expect(turnEntries(second.body)[1]).toEqual(turnEntries(first.body)[1]);
    await ice(testEnv, "carol");
    expect((await received(keyId)).length).toBe(2);
  });

  it("caps the lifetime it asks for at 48 hours", async () => {
    const { testEnv, keyId } = managedEnv({ extra: { TURN_MAX_TTL: "259200" } });
    const { body } = await ice(testEnv, `user-${crypto.randomUUID()}`, "?ttl=259200");
    expect(body.ttl).toBe(259_200);
    expect((await received(keyId))[0]!.body).toMatchObject({ ttl: 172_800 });
    // The list expires with its shortest-lived credential, the managed one.
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(172_800_000);
  });

  it.each([
    ["answers 500", { keyPrefix: "fail-500-" }],
    ["refuses the token (401)", { token: "0123456789abcdef-wrong-token" }],
    ["answers without iceServers", { keyPrefix: "bad-shape-" }],
    ["does not answer within 2.5 s", { keyPrefix: "slow-" }],
  ])("falls back to the own pools when the API %s, with a 200", async (_what, options) => {
    const { testEnv } = managedEnv(options);
    const { status, body } = await ice(testEnv);
    expect(status).toBe(200);
    expect(turnEntries(body).map((entry) => entry.urls[0])).toEqual(["turn:turn-eu.example.com:3478?transport=udp", "turn:turn-use.example.com:3478?transport=udp"]);
    expect(JSON.stringify(body)).not.toContain("cloudflare.com");
  }, 10_000);

  it("leaves the API alone for a while after a failure", async () => {
    const { testEnv, keyId } = managedEnv({ keyPrefix: "fail-500-" });
    await ice(testEnv);
    await ice(testEnv);
    expect((await received(keyId)).length).toBe(1);
  });
});

describe("managed TURN only (no VMs)", () => {
  it("needs no TURN_SECRETS and lists the managed pool alone", async () => {
    const { testEnv } = managedEnv({ pools: [{ provider: "cloudflare", region: "anycast" }], extra: { TURN_SECRETS: "" } });
    const { status, body } = await ice(testEnv);
    expect(status).toBe(200);
    expect(body.region).toBe("anycast");
    expect(turnEntries(body)).toHaveLength(1);
    expect(turnEntries(body)[0]!.urls[0]).toBe("turn:turn.cloudflare.com:3478?transport=udp");

    const rest = await app.fetch(new Request("http://edge.test/v1/turn/credentials", { headers: await authHeader("dora") }), testEnv);
    expect(rest.status).toBe(200);
    expect(await rest.json()).toMatchObject({ username: expect.stringMatching(/^[0-9a-f]{64}$/), uris: expect.arrayContaining(["turns:turn.cloudflare.com:443?transport=tcp"]) });
  });

  it("hands out STUN alone when the API is down, never an empty list or a 5xx", async () => {
    const { testEnv } = managedEnv({ keyPrefix: "fail-500-", pools: [MANAGED_POOL], extra: { TURN_SECRETS: "" } });
    const { status, body } = await ice(testEnv);
    expect(status).toBe(200);
    expect(body.iceServers).toEqual([{ urls: ["stun:stun.cloudflare.com:3478", "stun:stun.example.net:3478"] }]);
    expect(body.region).toBe("cloudflare");
  });
});

describe("configuration", () => {
  it.each([
    ["CLOUDFLARE_TURN_KEY_ID", { CLOUDFLARE_TURN_KEY_ID: "" }],
    ["CLOUDFLARE_TURN_API_TOKEN", { CLOUDFLARE_TURN_API_TOKEN: "" }],
  ])("a managed pool without %s is a configuration error naming it", async (variable, extra) => {
    const { testEnv } = managedEnv({ extra });
    const response = await app.fetch(new Request("http://edge.test/v1/calls/ice-servers", { headers: await authHeader("erin") }), testEnv);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toContain(variable);
    expect(text).not.toContain(fakeApi.TEST_TURN_API_TOKEN);
  });

  it("refuses two managed pools", async () => {
    const { testEnv } = managedEnv({ pools: [MANAGED_POOL, { provider: "cloudflare", region: "second" }] });
    const response = await app.fetch(new Request("http://edge.test/v1/calls/ice-servers", { headers: await authHeader("frank") }), testEnv);
    expect(response.status).toBe(500);
    expect(await response.text()).toContain("TURN_POOLS");
  });
});
