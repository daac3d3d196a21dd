/**
 * Real calls between two headless Chromium browsers, each in a network namespace behind its own
 * (or a shared) router, using the client SDK through the demo page against `wrangler dev` and a
 * real coturn on the "internet" side (100.64.0.1). The matrix:
 *   1. same LAN, no NAT between the peers: direct host candidates, no relay;
 *   2. two NATs with a path between them: connects (srflx or relay, reported);
 *   3. two NATs that cannot reach each other: only through the relay;
 *   4. UDP blocked on one side: through TURN over TCP;
 *   5. TURN refuses the credential (coturn has another secret): a fast, clear SDK error;
 *   6. mid-call, the caller's signaling socket drops, then its network goes dark for a few
 *      seconds: the SDK reconnects the socket and restarts ICE, and media flows again;
 *   7. a call outlives its 60 s TURN credential: the SDK fetches a new one and hands it to the
 *      peer connection (setConfiguration) before it expires; media keeps flowing.
 * Every wait is bounded; every process and namespace is removed at the end, also on failure.
 * Needs root (namespaces, iptables), Debian's chromium and coturn: `npm run test:e2e`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWrangler, type Running } from "../node/support/processes";
import { hs256Token } from "../node/support/tokens";
import { launchIn, type Browser } from "./support/browser";
import { startTestCoturn } from "./support/coturn";
import { bothConnected, call as placeCall, decodesBeyond, describePair, dumpEvents, framesDecoded, statsOf, type CallOutcome, type Demo } from "./support/calls";
import { buildTopology, createNamespace, deleteAll, inNamespace, type Topology } from "./support/network";

const SERVICE_IP = "100.64.0.1";
const PORT = 8787;
const ORIGIN = `http://${SERVICE_IP}:${PORT}`;
const JWT_SECRET = "e2e-only-hs256-secret-0123456789abcdef012345";
const TURN_SECRET = "6532652d7475726e2d7365637265742d3031";
const WRONG_SECRET = "77726f6e672d7475726e2d736563726574";

let internet: string;
let worker: Running;
let coturn: Running;
const results: { scenario: string; outcome: string; pair: string; setupMs: number | string }[] = [];

const token = (sub: string) => hs256Token(JWT_SECRET, sub);
declare const demo: Demo;

const service = { origin: ORIGIN, token };

type Row = Omit<(typeof results)[number], "scenario">;

/**
 * One scenario's world: its topology and two browsers, A and B, inside it. `body` returns the
 * row for the results table; a failure is recorded there too, with what each page saw.
 * Browsers and namespaces go away at the end, also after a failure.
 */
async function inWorld(name: string, options: Parameters<typeof buildTopology>[1], body: (a: Browser, b: Browser, topology: Topology) => Promise<Row>) {
  const topology = buildTopology(internet, options);
  const browsers: Browser[] = [];
  try {
    browsers.push(await launchIn(topology.clientA, ORIGIN, SERVICE_IP), await launchIn(topology.clientB, ORIGIN, SERVICE_IP));
    results.push({ scenario: name, ...(await body(browsers[0]!, browsers[1]!, topology)) });
  } catch (error) {
    results.push({ scenario: name, outcome: `FAILED: ${String(error).slice(0, 120)}`, pair: "-", setupMs: "-" });
    await dumpEvents(name, browsers);
    throw error;
  } finally {
    await Promise.all(browsers.map((browser) => browser.close()));
    topology.teardown();
  }
}

/** A call across the scenario's topology that must connect, then `check` on the pairs. */
async function scenario(name: string, options: Parameters<typeof buildTopology>[1], check: (outcome: CallOutcome) => void) {
  await inWorld(name, options, async (a, b) => {
    const outcome = await placeCall(service, a, b, name.slice(0, 1));
    try {
      check(outcome);
    } catch (error) {
      // Keep the pair the check did not like in the table.
      throw new Error(`${describePair(outcome)}: ${String(error)}`);
    }
    return { outcome: "connected, media flowing", pair: describePair(outcome), setupMs: outcome.setupMs };
  });
}

beforeAll(async () => {
  internet = createNamespace("internet");
  inNamespace(internet, "ip", "addr", "add", `${SERVICE_IP}/32`, "dev", "lo");
  [coturn, worker] = await Promise.all([
    startTestCoturn(internet, { ip: SERVICE_IP, secret: TURN_SECRET, relayPorts: [49160, 49260] }),
    startWrangler(
      {
        AUTH_JWT_SECRET: JWT_SECRET,
        TURN_SECRETS: TURN_SECRET,
        // The shortest lifetime there is, so scenario 7 sees the SDK refresh it within a minute.
        TURN_CREDENTIAL_TTL: "60",
        CORS_ALLOWED_ORIGINS: ORIGIN,
        DEMO: "on",
        TURN_POOLS: JSON.stringify([
          { region: "test", location: { latitude: 0, longitude: 0 }, urls: [`turn:${SERVICE_IP}:3478?transport=udp`, `turn:${SERVICE_IP}:3478?transport=tcp`] },
        ]),
      },
      { netns: { name: internet, ip: SERVICE_IP, port: PORT } },
    ),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([worker?.stop(), coturn?.stop()]);
  deleteAll();
  console.log(
    ["", "| scenario | outcome | selected pair on each side (local type/protocol → remote type) | POST /v1/calls → connected |", "|---|---|---|---|"]
      .concat(results.map((r) => `| ${r.scenario} | ${r.outcome} | ${r.pair} | ${typeof r.setupMs === "number" ? `${r.setupMs} ms` : r.setupMs} |`))
      .join("\n"),
  );
}, 60_000);

describe("calls in real browsers across simulated NATs", () => {
  it("1. same LAN, no NAT: connects directly over host candidates, no relay", async () => {
    await scenario("1 same LAN", { scenario: 1, sameLan: true }, ({ a, b }) => {
      expect(a.pair?.local.type).toBe("host");
      expect(a.pair?.remote.type).toBe("host");
      expect(b.pair?.local.type).toBe("host");
    });
  }, 90_000);

  it("2. both behind NAT with a path between the NATs: connects (srflx or relay)", async () => {
    await scenario("2 NATs, path between", { scenario: 2, natsConnected: true }, ({ a, b }) => {
      expect(["srflx", "prflx", "relay"]).toContain(a.pair?.local.type);
      expect(["srflx", "prflx", "relay"]).toContain(b.pair?.local.type);
    });
  }, 90_000);

  it("3. NATs that cannot reach each other: connects only through the relay", async () => {
    await scenario("3 NATs, no path", { scenario: 3, natsConnected: false }, ({ a, b }) => {
      // No route between the NATs: on each side the selected pair runs through a TURN allocation,
      // its own or the other side's (a reflexive candidate talking to the other side's relay
      // address is relayed). Never host to host.
      for (const side of [a, b]) {
        expect([side.pair?.local.type, side.pair?.remote.type]).toContain("relay");
        expect(side.pair?.local.type).not.toBe("host");
      }
    });
  }, 90_000);

  it("4. UDP blocked on one side: connects through TURN over TCP", async () => {
    await scenario("4 UDP blocked on A", { scenario: 4, natsConnected: false, blockUdpA: true }, ({ a }) => {
      expect(a.pair?.local.type).toBe("relay");
      expect(a.pair?.local.relayProtocol).toBe("tcp");
    });
  }, 90_000);

  // 6 and 7 come before 5, which swaps coturn for one with another secret.
  it("6. mid-call, the socket drops and the network breaks: the SDK reconnects and restarts ICE", async () => {
    await inWorld("6 socket drop, then network break", { scenario: 6, natsConnected: false }, async (a, b, topology) => {
      await placeCall(service, a, b, "6");

      // The caller's signaling socket drops (an abnormal close): the SDK connects again with
      // back-off, and the callee sees the caller leave and come back.
      await a.page.evaluate(() => (demo.call as unknown as { ws: WebSocket }).ws.close(4000, "test: dropped"));
      const cameBack = () => {
        const left = demo.events.findIndex((event) => / left alice-6 /.test(event));
        return left >= 0 && demo.events.slice(left).some((event) => / joined alice-6$/.test(event));
      };
      await b.page.waitForFunction(cameBack, null, { timeout: 10_000, polling: 100 });

      // The caller's network goes dark (its router drops everything, as in a move from Wi-Fi to
      // mobile): the connection breaks and the caller restarts ICE, which shows as a new ufrag.
      const ufrag = () => /a=ice-ufrag:(\S+)/.exec(demo.call!.pc.localDescription!.sdp)![1]!;
      const before = await a.page.evaluate(ufrag);
      const decodedBefore = await framesDecoded(b);
      const broken = Date.now();
      inNamespace(topology.routerA, "iptables", "-I", "FORWARD", "1", "-j", "DROP");
      try {
        await a.page.waitForFunction(() => ["disconnected", "failed"].includes(demo.call!.pc.connectionState), null, { timeout: 30_000, polling: 100 });
        await a.page.waitForFunction((old) => /a=ice-ufrag:(\S+)/.exec(demo.call!.pc.localDescription!.sdp)![1] !== old, before, { timeout: 15_000, polling: 100 });
      } finally {
        inNamespace(topology.routerA, "iptables", "-D", "FORWARD", "1");
      }
      await bothConnected(a, b, 30_000);
      const recoveredMs = Date.now() - broken;
      await decodesBeyond(b, decodedBefore);
      expect(await a.page.evaluate(ufrag)).not.toBe(before);
      return { outcome: "socket back; ICE restarted, media flowing again", pair: describePair(await statsOf(a, b)), setupMs: `media back ${recoveredMs} ms after the break` };
    });
  }, 120_000);

  it("7. a call outlives its TURN credential: the SDK refreshes it before it expires", async () => {
    await inWorld("7 credential refresh", { scenario: 7, natsConnected: false }, async (a, b) => {
      await placeCall(service, a, b, "7");
      const username = () => demo.call!.pc.getConfiguration().iceServers?.find((server) => server.username)?.username ?? "";
      const [first, started] = [await a.page.evaluate(username), Date.now()];
      // `<expiry>:<user>`: 60 s credentials, refreshed at 80 % of their life.
      const expiry = (name: string) => Number(name.split(":")[0]);
      await a.page.waitForFunction((old) => {
        const now = demo.call!.pc.getConfiguration().iceServers?.find((server) => server.username)?.username;
        return now !== undefined && now !== old;
      }, first, { timeout: 70_000, polling: 500 });
      const refreshedMs = Date.now() - started;
      const second = await a.page.evaluate(username);
      expect(second).toMatch(/^\d+:alice-7$/);
      expect(expiry(second)).toBeGreaterThan(expiry(first));
      // Refreshed before the first one ran out, and the call carried on.
      expect(Date.now() / 1000).toBeLessThan(expiry(first));
      await decodesBeyond(b, await framesDecoded(b));
      expect(await a.page.evaluate(() => demo.call!.pc.connectionState)).toBe("connected");
      return { outcome: "credential refreshed, call still connected", pair: describePair(await statsOf(a, b)), setupMs: `new credential ${refreshedMs} ms into the call, ${expiry(first) * 1000 - Date.now()} ms before expiry` };
    });
  }, 150_000);

  it("5. a credential TURN refuses: fails fast with a clear turn_unauthorized error", async () => {
    await coturn.stop();
    coturn = await startTestCoturn(internet, { ip: SERVICE_IP, secret: WRONG_SECRET, relayPorts: [49160, 49260] });
    await inWorld("5 TURN refuses the credential", { scenario: 5, natsConnected: false }, async (a, b) => {
      await Promise.all([a.page.goto(`${ORIGIN}/demo/`), b.page.goto(`${ORIGIN}/demo/`)]);
      await a.page.evaluate(([user, jwt]) => demo.signIn(user!, jwt!), ["alice-5", await token("alice-5")]);
      await b.page.evaluate(([user, jwt]) => demo.signIn(user!, jwt!), ["bob-5", await token("bob-5")]);
      const started = Date.now();
      const callId = await a.page.evaluate(() => demo.startCall("bob-5"));
      await b.page.evaluate((id) => demo.join(id), callId);
      const refused = () => demo.errors.some((error) => error.code === "turn_unauthorized");
      await Promise.all([a.page.waitForFunction(refused, null, { timeout: 10_000, polling: 250 }), b.page.waitForFunction(refused, null, { timeout: 10_000, polling: 250 })]);
      const errorMs = Date.now() - started;
      const error = await a.page.evaluate(() => demo.errors.find((e) => e.code === "turn_unauthorized")!);
      expect(error.message).toMatch(/refused the credential \(401/);
      expect(await a.page.evaluate(() => demo.call!.pc.connectionState)).not.toBe("connected");
      return { outcome: "turn_unauthorized (401) on both", pair: "none", setupMs: `error after ${errorMs} ms` };
    });
  }, 90_000);
});
