/**
 * The TURN health check for real: `wrangler dev --test-scheduled` runs the cron job on demand
 * (GET /__scheduled), and its probes reach real coturn processes over TCP with Workers'
 * `connect()`. Two "regions" (each a coturn on its own loopback address) and two broken hosts:
 * - both regions pass (STUN binding, then an allocation with a freshly minted credential);
 * - kill one coturn: after one probe it is still listed, after two its URLs are gone from
 *   GET /v1/calls/ice-servers and /v1/admin/turn says down/unreachable; start it again: back
 *   after one probe;
 * - a coturn with another static-auth-secret is reported `auth_failed`;
 * - a TCP server that accepts and never answers is reported `timeout` (the probe is bounded).
 * It does not cover TLS probes (turns:-only hosts), which need a certificate workerd trusts.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TurnFleetStatus } from "../../src/turn/fleet";
import { freePort, startCoturn, startWrangler, type Running } from "./support/processes";
import { hs256Token } from "./support/tokens";

const SECRET = "6865616c74682d7475726e2d736563726574";
const WRONG_SECRET = "77726f6e672d6865616c74682d736563726574";
const JWT_SECRET = "turn-health-test-hs256-secret-0123456789abcdef";
const EAST = "127.0.0.2";
const WEST = "127.0.0.3";
const WRONG = "127.0.0.4";
const SILENT = "127.0.0.5";

let ports: Record<"east" | "west" | "wrong" | "silent", number>;
let east: Running;
let west: Running;
let wrong: Running;
let silent: Server;
const silentSockets = new Set<Socket>();
let worker: Running & { url: string };

const pool = (region: string, ip: string, port: number, latitude: number) => ({
  region,
  location: { latitude, longitude: -97 },
  urls: [`turn:${ip}:${port}?transport=udp`, `turn:${ip}:${port}?transport=tcp`],
});

beforeAll(async () => {
  ports = { east: await freePort(), west: await freePort(), wrong: await freePort(), silent: await freePort() };
  silent = createServer((socket) => {
    // Accepts, reads, never answers: what a wedged process looks like from outside.
    silentSockets.add(socket);
    socket.on("close", () => silentSockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((done) => silent.listen(ports.silent, SILENT, done));
  [east, west, wrong, worker] = await Promise.all([
    startCoturn({ secrets: [SECRET], port: ports.east, ip: EAST }),
    startCoturn({ secrets: [SECRET], port: ports.west, ip: WEST }),
    startCoturn({ secrets: [WRONG_SECRET], port: ports.wrong, ip: WRONG }),
    startWrangler(
      {
        AUTH_JWT_SECRET: JWT_SECRET,
        TURN_SECRETS: SECRET,
        CORS_ALLOWED_ORIGINS: "*",
        TURN_POOLS: JSON.stringify([pool("east", EAST, ports.east, 30), pool("west", WEST, ports.west, 40), pool("wrong", WRONG, ports.wrong, -30), pool("silent", SILENT, ports.silent, -40)]),
      },
      { testScheduled: true },
    ),
  ]);
});

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await Promise.all([east?.stop(), west?.stop(), wrong?.stop(), worker?.stop(), new Promise<void>((done) => (silent ? silent.close(() => done()) : done()))]);
});

async function get<T>(path: string, scope?: string): Promise<T> {
  const token = await hs256Token(JWT_SECRET, `ops-${crypto.randomUUID()}`, scope ? { scope } : {});
  const response = await fetch(`${worker.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

const fleet = () => get<TurnFleetStatus>("/v1/admin/turn", "admin");
const hostsOf = (status: TurnFleetStatus) => Object.fromEntries(status.pools.flatMap((p) => p.hosts).map((host) => [host.host, host]));
const listedTurnUrls = async () =>
  (await get<{ iceServers: { urls: string[]; username?: string }[] }>("/v1/calls/ice-servers")).iceServers.flatMap((server) => server.urls);

/** ICE lists once they satisfy `check`: an isolate may serve its copy of the health for up to 5 s (fleet.ts). */
async function listedTurnUrlsWhen(check: (urls: string[]) => boolean): Promise<string[]> {
  let urls: string[] = [];
  for (let i = 0; i < 40 && !check((urls = await listedTurnUrls())); i++) await new Promise((done) => setTimeout(done, 250));
  return urls;
}

/** One cron run: GET /__scheduled, then (bounded) until every host shows a probe newer than before. */
async function probeRun(): Promise<TurnFleetStatus> {
  const before = hostsOf(await fleet());
  const started = Date.now();
  const response = await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`, { signal: AbortSignal.timeout(30_000) });
  expect(response.status).toBe(200);
  for (let i = 0; i < 60; i++) {
    const status = await fleet();
    const hosts = Object.values(hostsOf(status));
    if (hosts.every((host) => host.lastProbeAt && host.lastProbeAt !== before[host.host]?.lastProbeAt)) {
      console.log(`probe run: ${Date.now() - started} ms; ${hosts.map((h) => `${h.host} ${h.status}/${h.reason} ${h.latencyMs ?? "-"} ms`).join("; ")}`);
      return status;
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error("the probe run did not record every host within 15 s");
}

describe("health checks from the Worker against real coturn", () => {
  it("passes both regions, finds the wrong secret auth_failed and the silent host timeout", async () => {
    const hosts = hostsOf(await probeRun());
    expect(hosts[EAST]).toMatchObject({ status: "up", reason: "ok", listed: true, latencyMs: expect.any(Number) });
    expect(hosts[WEST]).toMatchObject({ status: "up", reason: "ok" });
    expect(hosts[WRONG]).toMatchObject({ status: "failing", reason: "auth_failed", detail: expect.stringMatching(/static-auth-secret/) });
    expect(hosts[SILENT]).toMatchObject({ status: "failing", reason: "timeout" });
  });

  it("drops a killed coturn after two probes, and lists it again once it answers", async () => {
    await probeRun();
    expect(await listedTurnUrls()).toContain(`turn:${EAST}:${ports.east}?transport=udp`);
    await east.stop();

    let hosts = hostsOf(await probeRun());
    expect(hosts[EAST]).toMatchObject({ status: "failing", listed: true, reason: "unreachable" });
    expect(await listedTurnUrls()).toContain(`turn:${EAST}:${ports.east}?transport=udp`);

    hosts = hostsOf(await probeRun());
    expect(hosts[EAST]).toMatchObject({ status: "down", listed: false, reason: "unreachable", consecutiveFailures: 2 });
    const listed = await listedTurnUrlsWhen((urls) => !urls.some((url) => url.includes(EAST)));
    expect(listed.some((url) => url.includes(EAST))).toBe(false);
    expect(listed).toContain(`turn:${WEST}:${ports.west}?transport=udp`);

    east = await startCoturn({ secrets: [SECRET], port: ports.east, ip: EAST });
    hosts = hostsOf(await probeRun());
    expect(hosts[EAST]).toMatchObject({ status: "up", listed: true });
    expect(hosts[EAST]!.history.slice(0, 4).map((probe) => probe.reason)).toEqual(["ok", "unreachable", "unreachable", "ok"]);
    expect(await listedTurnUrlsWhen((urls) => urls.includes(`turn:${EAST}:${ports.east}?transport=udp`))).toContain(`turn:${EAST}:${ports.east}?transport=udp`);
  }, 90_000);
});
