/**
 * The TURN fleet in real browsers: two headless Chromiums in network namespaces behind NATs that
 * cannot reach each other, `wrangler dev --test-scheduled` (GET /__scheduled runs the minute's
 * health probes on demand) and two coturns, "east" and "west", each a region of TURN_POOLS, on
 * the test's "internet" (TLS on 443 with a certificate made here). Scenarios:
 *   8. only TCP 443 to the TURN host is open behind A's router: the call connects through
 *      `turns:` (TLS), the browser trusting the test certificate in this scenario only;
 *   9. the call's TURN host dies mid-call: the call started while west was down (so its list had
 *      east only) and west came back; east's coturn is killed; the health check drops it; the
 *      SDK fetches a fresh ICE list on `disconnected`, restarts ICE, and the call recovers through
 *      west. Prints the seconds from the kill to media flowing again, and the relay before/after.
 * Every wait is bounded; processes and namespaces are removed at the end, also on failure.
 * Needs root, Debian's chromium, coturn and openssl: `npm run test:e2e`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TurnFleetStatus } from "../../src/turn/fleet";
import { startWrangler, type Running } from "../node/support/processes";
import { hs256Token } from "../node/support/tokens";
import { launchIn, type Browser } from "./support/browser";
import { startTestCoturn } from "./support/coturn";
import { bothConnected, call, decodesBeyond, describePair, dumpEvents, framesDecoded, statsOf, type Demo } from "./support/calls";
import { buildTopology, createNamespace, deleteAll, inNamespace, type TcpDestination } from "./support/network";

declare const demo: Demo;

const SERVICE_IP = "100.64.0.1";
const EAST = "100.64.0.2";
const WEST = "100.64.0.3";
const PORT = 8787;
const ORIGIN = `http://${SERVICE_IP}:${PORT}`;
const JWT_SECRET = "e2e-fleet-hs256-secret-0123456789abcdef012345";
const TURN_SECRET = "6532652d666c6565742d7475726e2d736563726574";

const token = (sub: string, scope?: string) => hs256Token(JWT_SECRET, sub, scope ? { scope } : {});
const service = { origin: ORIGIN, token: (sub: string) => token(sub) };

let internet: string;
let certDir: string;
let spki: string;
let worker: Running;
let east: Running | undefined;
let west: Running | undefined;
const results: { scenario: string; outcome: string; pair: string; figures: string }[] = [];

const tls = () => ({ cert: join(certDir, "cert.pem"), key: join(certDir, "key.pem") });
const startEast = () => startTestCoturn(internet, { ip: EAST, secret: TURN_SECRET, relayPorts: [49160, 49260], tls: tls() });
const startWest = () => startTestCoturn(internet, { ip: WEST, secret: TURN_SECRET, relayPorts: [49300, 49400], tls: tls() });

const pool = (region: string, ip: string, latitude: number) => ({
  region,
  location: { latitude, longitude: -97.7 },
  urls: [`turn:${ip}:3478?transport=udp`, `turn:${ip}:3478?transport=tcp`, `turns:${ip}:443?transport=tcp`],
});

/** GET `path` of the Worker from inside the internet namespace (never from the host: see network.ts). */
async function get<T>(path: string, scope?: string): Promise<T> {
  const jwt = await token(`ops-${crypto.randomUUID()}`, scope);
  const script = `fetch(${JSON.stringify(`${ORIGIN}${path}`)}, { headers: { authorization: ${JSON.stringify(`Bearer ${jwt}`)} }, signal: AbortSignal.timeout(10000) })
    .then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(String(e)); process.exit(2); })`;
  return JSON.parse(inNamespace(internet, process.execPath, "-e", script)) as T;
}

const fleet = () => get<TurnFleetStatus>("/v1/admin/turn", "admin");
const hostsOf = (status: TurnFleetStatus) => Object.fromEntries(status.pools.flatMap((pool) => pool.hosts).map((host) => [host.host, host]));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** One minute's probes, on demand: GET /__scheduled, then (bounded) until every host has a newer probe. */
async function probeRun(): Promise<void> {
  const before = hostsOf(await fleet());
  await get<unknown>("/__scheduled?cron=*+*+*+*+*").catch(() => undefined);
  for (let i = 0; i < 60; i++) {
    const hosts = Object.values(hostsOf(await fleet()));
    if (hosts.every((host) => host.lastProbeAt && host.lastProbeAt !== before[host.host]?.lastProbeAt)) return;
    await sleep(250);
  }
  throw new Error("a probe run did not record every host within 15 s");
}

/** The TURN URLs of a fresh ICE list once `check` holds (an isolate may keep its copy of the health 5 s). */
async function iceUrlsWhen(check: (urls: string[]) => boolean): Promise<string[]> {
  let urls: string[] = [];
  for (let i = 0; i < 40; i++) {
    urls = (await get<{ iceServers: { urls: string[] }[] }>("/v1/calls/ice-servers")).iceServers.flatMap((server) => server.urls);
    if (check(urls)) return urls;
    await sleep(250);
  }
  throw new Error(`the ICE list never satisfied the check: ${urls.join(" ")}`);
}

/** The selected pair of `side` with addresses, and the TURN server (by its relay address) the path runs through. */
async function relayOf(side: Browser): Promise<{ relay: string | undefined; local: string; remote: string }> {
  const pair = await side.page.evaluate(async () => {
    const stats = await demo.call!.pc.getStats();
    let selected: Record<string, unknown> | undefined;
    stats.forEach((report) => {
      if (report.type === "transport" && report.selectedCandidatePairId) selected = stats.get(report.selectedCandidatePairId as string);
    });
    const local = stats.get(selected?.localCandidateId as string) ?? {};
    const remote = stats.get(selected?.remoteCandidateId as string) ?? {};
    return { local: { type: local.candidateType, address: local.address, protocol: local.relayProtocol ?? local.protocol }, remote: { type: remote.candidateType, address: remote.address } };
  });
  const relay = pair.local.type === "relay" ? pair.local.address : pair.remote.type === "relay" ? pair.remote.address : undefined;
  return { relay: relay as string | undefined, local: `${pair.local.type}/${pair.local.protocol} ${pair.local.address}`, remote: `${pair.remote.type} ${pair.remote.address}` };
}

const regionOf = (ip: string | undefined) => (ip === EAST ? "east" : ip === WEST ? "west" : `none (${ip})`);

/** One scenario's NATs and browsers; both go away at the end, also after a failure. */
async function inWorld(
  name: string,
  options: { scenario: number; allowOnlyA?: TcpDestination[]; trustCertificateA?: boolean },
  body: (a: Browser, b: Browser) => Promise<Omit<(typeof results)[number], "scenario">>,
) {
  const topology = buildTopology(internet, { scenario: options.scenario, natsConnected: false, ...(options.allowOnlyA ? { allowOnlyA: options.allowOnlyA } : {}) });
  const browsers: Browser[] = [];
  const reachable = [SERVICE_IP, EAST, WEST];
  try {
    browsers.push(
      await launchIn(topology.clientA, ORIGIN, reachable, options.trustCertificateA ? [`--ignore-certificate-errors-spki-list=${spki}`] : []),
      await launchIn(topology.clientB, ORIGIN, reachable),
    );
    results.push({ scenario: name, ...(await body(browsers[0]!, browsers[1]!)) });
  } catch (error) {
    results.push({ scenario: name, outcome: `FAILED: ${String(error).slice(0, 160)}`, pair: "-", figures: "-" });
    await dumpEvents(name, browsers);
    throw error;
  } finally {
    await Promise.all(browsers.map((browser) => browser.close()));
    topology.teardown();
  }
}

beforeAll(async () => {
  internet = createNamespace("internet");
  for (const ip of [SERVICE_IP, EAST, WEST]) inNamespace(internet, "ip", "addr", "add", `${ip}/32`, "dev", "lo");
  // A certificate for both TURN hosts, trusted by browser A of scenario 8 only (by its key's hash).
  certDir = mkdtempSync(join(tmpdir(), "sce-e2e-cert-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=turn.test",
    "-addext", `subjectAltName=IP:${EAST},IP:${WEST}`, "-keyout", join(certDir, "key.pem"), "-out", join(certDir, "cert.pem")], { stdio: "ignore", timeout: 15_000 });
  const der = execFileSync("openssl", ["pkey", "-in", join(certDir, "key.pem"), "-pubout", "-outform", "DER"], { timeout: 15_000 });
  spki = Buffer.from(await crypto.subtle.digest("SHA-256", der)).toString("base64");
  // West starts down: the call of scenario 9 gets a list of east alone.
  [east, worker] = await Promise.all([
    startEast(),
    startWrangler(
      {
        AUTH_JWT_SECRET: JWT_SECRET,
        TURN_SECRETS: TURN_SECRET,
        CORS_ALLOWED_ORIGINS: ORIGIN,
        DEMO: "on",
        // wrangler dev places every caller in Austin (30.27, -97.74): east is nearer.
        TURN_POOLS: JSON.stringify([pool("east", EAST, 30.3), pool("west", WEST, 45)]),
      },
      { netns: { name: internet, ip: SERVICE_IP, port: PORT }, testScheduled: true },
    ),
  ]);
  await probeRun();
  await probeRun();
  expect(hostsOf(await fleet())).toMatchObject({ [EAST]: { status: "up" }, [WEST]: { status: "down", reason: "unreachable" } });
}, 120_000);

afterAll(async () => {
  await Promise.all([worker?.stop(), east?.stop(), west?.stop()]);
  deleteAll();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
  console.log(
    ["", "| scenario | outcome | selected pair (local → remote) | figures |", "|---|---|---|---|"]
      .concat(results.map((r) => `| ${r.scenario} | ${r.outcome} | ${r.pair} | ${r.figures} |`))
      .join("\n"),
  );
}, 60_000);

describe("the TURN fleet in real browsers", () => {
  it("8. only TCP 443 to the TURN host is open: the call connects over TURN/TLS (turns:)", async () => {
    const allowOnlyA = [
      { ip: EAST, port: 443 },
      { ip: SERVICE_IP, port: PORT },
    ];
    await inWorld("8 only TCP 443 open (turns:)", { scenario: 8, allowOnlyA, trustCertificateA: true }, async (a, b) => {
      const outcome = await call(service, a, b, "8");
      expect(outcome.a.pair?.local).toMatchObject({ type: "relay", relayProtocol: "tls" });
      const path = await relayOf(a);
      expect(path.relay).toBe(EAST);
      return { outcome: "connected over TLS on 443, media flowing", pair: describePair(outcome), figures: `setup ${outcome.setupMs} ms; A ${path.local} → ${path.remote}` };
    });
  }, 120_000);

  it("9. the call's TURN host dies: the health check drops it and the call recovers through the other region", async () => {
    await iceUrlsWhen((urls) => !urls.some((url) => url.includes(WEST)));
    await inWorld("9 TURN host killed mid-call", { scenario: 9 }, async (a, b) => {
      await call(service, a, b, "9");
      const before = await relayOf(a);
      expect(before.relay).toBe(EAST);

      // West comes back: one passing probe lists it again (the live call's list still has east only).
      west = await startWest();
      await probeRun();
      await iceUrlsWhen((urls) => urls.some((url) => url.includes(WEST)));

      // East dies under the call; two probes drop it.
      const killed = Date.now();
      await east!.stop();
      east = undefined;
      await probeRun();
      await probeRun();
      const droppedMs = Date.now() - killed;
      expect(hostsOf(await fleet())[EAST]).toMatchObject({ status: "down", listed: false, reason: "unreachable" });
      await iceUrlsWhen((urls) => !urls.some((url) => url.includes(EAST)));

      // The SDK saw the break, fetched a fresh list (west) and restarted ICE.
      await a.page.waitForFunction(() => demo.events.some((event) => /connection (disconnected|failed)/.test(event)), null, { timeout: 30_000, polling: 100 });
      await bothConnected(a, b, 45_000);
      await decodesBeyond(b, await framesDecoded(b));
      const recoveredMs = Date.now() - killed;
      const after = await relayOf(a);
      expect(after.relay).toBe(WEST);
      const configured = await a.page.evaluate(() => JSON.stringify(demo.call!.pc.getConfiguration().iceServers ?? []));
      expect(configured).toContain(WEST);
      console.log(`scenario 9: relay before ${regionOf(before.relay)} (${before.local} → ${before.remote}); after ${regionOf(after.relay)} (${after.local} → ${after.remote}); east down in ${droppedMs} ms; media flowing again ${(recoveredMs / 1000).toFixed(1)} s after the kill`);
      return {
        outcome: "east killed, dropped after two probes; ICE restarted with a fresh list; media flowing through west",
        pair: `before: ${regionOf(before.relay)} (${before.local} → ${before.remote}); after: ${regionOf(after.relay)} (${after.local} → ${after.remote}); ${describePair(await statsOf(a, b))}`,
        figures: `media flowing again ${(recoveredMs / 1000).toFixed(1)} s after the kill; east dropped from lists ${(droppedMs / 1000).toFixed(1)} s after it`,
      };
    });
  }, 150_000);
});
