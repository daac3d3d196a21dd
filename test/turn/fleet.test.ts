/**
 * The TURN fleet's health in workerd: the cron job's probes (real `connect()` from
 * `cloudflare:sockets`, here to ports where nothing listens), the TurnFleet Durable Object's
 * state and history, `GET /v1/admin/turn`, and ICE lists that leave out down hosts, move to the
 * next region when a pool is down, and still go out when every host is. Probes that pass need a
 * real coturn: test/node/turn-health.test.ts. Health is read through each test's own env object,
 * so the isolate's copy (fleet.ts) starts empty in every test.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api";
import { probeTurnFleet, type TurnFleetStatus } from "../../src/turn/fleet";
import type { ProbeOutcome, ProbeTarget } from "../../src/turn/health";
import { TEST_ENV } from "../support/env";
import { authHeader } from "../support/tokens";

interface IceBody {
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  region: string;
}

const FRANKFURT = { latitude: "50.1", longitude: "8.7", continent: "EU" };
const fleet = () => env.TURN_FLEET.get(env.TURN_FLEET.idFromName("fleet"));
const EU_HOST = "turn-eu.example.com";
const ALL_HOSTS = ["turn-eu.example.com", "turn-use.example.com", "turn-apse.example.com"];
const target = (host: string, region: string): ProbeTarget => ({ host, region, port: 3478, tls: false });
const REFUSED: ProbeOutcome = { reason: "unreachable", detail: "no TCP connection", latencyMs: null };
const OK: ProbeOutcome = { reason: "ok", detail: "allocated", latencyMs: 7 };

/** A copy of the test env: its own config parse and its own isolate copy of the fleet's health. */
const freshEnv = (vars: Record<string, string> = {}) => ({ ...env, ...vars }) as Env;

async function iceServers(testEnv: Env = freshEnv(), cf: Record<string, unknown> = FRANKFURT) {
  const response = await app.fetch(new Request("http://edge.test/v1/calls/ice-servers", { headers: await authHeader(`user-${crypto.randomUUID()}`), cf }), testEnv);
  expect(response.status).toBe(200);
  return (await response.json()) as IceBody;
}

const turnUrls = (body: IceBody) => body.iceServers.filter((server) => server.username).map((server) => server.urls);

async function adminTurn(testEnv: Env = freshEnv(), scope = "admin") {
  return app.fetch(new Request("http://edge.test/v1/admin/turn", { headers: await authHeader(`ops-${crypto.randomUUID()}`, { scope }) }), testEnv);
}

/** The eu host fails `failures` probes in a row (the other hosts pass). */
async function euFails(failures: number) {
  for (let i = 0; i < failures; i++) {
    await fleet().record(ALL_HOSTS, [{ target: target(EU_HOST, "eu"), outcome: REFUSED }, { target: target("turn-use.example.com", "us-east"), outcome: OK }], Date.now() + i);
  }
}

describe("ICE lists and the fleet's health", () => {
  it("keeps a host after one failed probe and drops it after two; the next region comes first", async () => {
    await fleet().record(ALL_HOSTS, [{ target: target(EU_HOST, "eu"), outcome: OK }], Date.now());
    await euFails(1);
    expect((await iceServers()).region).toBe("eu");

    await euFails(1);
    const body = await iceServers();
    expect(body.region).toBe("us-east");
    expect(turnUrls(body)).toEqual([
      ["turn:turn-use.example.com:3478?transport=udp", "turns:turn-use.example.com:443?transport=tcp"],
      ["turn:turn-apse.example.com:3478?transport=udp", "turns:turn-apse.example.com:443?transport=tcp"],
    ]);
    expect(JSON.stringify(body)).not.toContain(EU_HOST);
  });

  it("lists the host again as soon as a probe passes", async () => {
    await euFails(2);
    expect((await iceServers()).region).toBe("us-east");
    await fleet().record(ALL_HOSTS, [{ target: target(EU_HOST, "eu"), outcome: OK }], Date.now());
    const body = await iceServers();
    expect(body.region).toBe("eu");
    expect(turnUrls(body)[0]).toContain("turn:turn-eu.example.com:3478?transport=udp");
  });

  it("still hands out a list when every host is down: the nearest pools as configured", async () => {
    for (let i = 0; i < 2; i++) await fleet().record(ALL_HOSTS, ALL_HOSTS.map((host) => ({ target: target(host, "x"), outcome: REFUSED })), Date.now() + i);
    const body = await iceServers();
    expect(body.region).toBe("eu");
    expect(turnUrls(body)).toHaveLength(2);
    const status = (await (await adminTurn()).json()) as TurnFleetStatus;
    expect(status.allDown).toBe(true);
  });
});

describe("the cron job's probes", () => {
  it("finds hosts where nothing listens unreachable, and drops them after the second run", async () => {
    // Port 1 on loopback: nothing listens, so connect() is refused at once.
    const testEnv = freshEnv({
      TURN_POOLS: JSON.stringify([
        { region: "one", location: { latitude: 50, longitude: 8 }, urls: ["turn:127.0.0.1:1?transport=tcp"] },
        { region: "two", location: { latitude: 40, longitude: -74 }, urls: ["turn:localhost:1?transport=udp"] },
      ]),
    });
    await probeTurnFleet(testEnv);
    let status = (await (await adminTurn(testEnv)).json()) as TurnFleetStatus;
    expect(status.pools.map((pool) => pool.hosts.map((host) => [host.host, host.status, host.reason]))).toEqual([[["127.0.0.1", "failing", "unreachable"]], [["localhost", "failing", "unreachable"]]]);

    await probeTurnFleet(testEnv);
    status = (await (await adminTurn(testEnv)).json()) as TurnFleetStatus;
    const [host] = status.pools[0]!.hosts;
    expect(host).toMatchObject({ status: "down", listed: false, consecutiveFailures: 2, probe: "127.0.0.1:1 over tcp", detail: expect.stringMatching(/no TCP connection to 127\.0\.0\.1:1/) });
    expect(host!.history.map((probe) => probe.reason)).toEqual(["unreachable", "unreachable"]);
    expect(status).toMatchObject({ allDown: true, probe: { intervalSeconds: 60, failuresToDrop: 2 } });
    // Every host down: the list still goes out, nearest pool first.
    expect((await iceServers(testEnv)).region).toBe("one");
  });

  it("forgets hosts that left the configuration", async () => {
    await euFails(2);
    const testEnv = freshEnv({ TURN_POOLS: JSON.stringify([{ region: "solo", location: { latitude: 0, longitude: 0 }, urls: ["turn:127.0.0.1:1"] }]) });
    await probeTurnFleet(testEnv);
    const { hosts } = await fleet().status();
    expect(hosts.map((host) => host.host)).toEqual(["127.0.0.1"]);
  });
});

describe("GET /v1/admin/turn", () => {
  it("shows every pool and host, unprobed hosts as unknown and listed, with history newest first", async () => {
    await fleet().record(ALL_HOSTS, [{ target: target(EU_HOST, "eu"), outcome: OK }], Date.UTC(2026, 11, 3, 9, 0));
    await fleet().record(ALL_HOSTS, [{ target: target(EU_HOST, "eu"), outcome: REFUSED }], Date.UTC(2026, 11, 3, 9, 1));
    const response = await adminTurn();
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const status = (await response.json()) as TurnFleetStatus;
    expect(status.pools.map((pool) => [pool.region, pool.provider, pool.listed])).toEqual([
      ["eu", "coturn", true],
      ["us-east", "coturn", true],
      ["ap-southeast", "coturn", true],
    ]);
    const eu = status.pools[0]!.hosts[0]!;
    expect(eu).toMatchObject({ host: EU_HOST, status: "failing", listed: true, since: "2026-12-03T09:01:00.000Z", lastProbeAt: "2026-12-03T09:01:00.000Z" });
    expect(eu.history.map((probe) => [probe.at, probe.reason])).toEqual([
      ["2026-12-03T09:01:00.000Z", "unreachable"],
      ["2026-12-03T09:00:00.000Z", "ok"],
    ]);
    const apse = status.pools[2]!.hosts[0]!;
    expect(apse).toMatchObject({ host: "turn-apse.example.com", status: "unknown", listed: true, lastProbeAt: null, history: [] });
    expect(JSON.stringify(status)).not.toContain(TEST_ENV.TURN_SECRETS.split(",")[0]);
  });

  it("needs scope admin", async () => {
    const response = await adminTurn(freshEnv(), "push:send");
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: { code: "forbidden", message: "this endpoint needs a token with scope admin" } });
  });
});
