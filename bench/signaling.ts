// Signaling speed on one `wrangler dev` (loopback only, every phase bounded in time):
// 1. sequential round trips/s between two WebSocket clients through a call room, against a bare
//    Durable Object echo relay (bench/signaling/worker.ts), and their ratio (target ≥ 0.9);
// 2. p50/p99 from POST /v1/calls to the callee's socket receiving the caller's offer; and call
//    set-up against its floor on the same runtime: POST /v1/calls until the callee's line (GET
//    /v1/me/ws, open beforehand) has incoming-call, alternating with a bare Worker doing the
//    least the same job needs (bench/signaling/worker.ts), both medians and their ratio;
// 3. scale: 1,000 sockets in 500 calls, every frame delivered, workerd memory before and after.
//   npm run bench:signaling [-- --seconds 5 --calls 500 --frames 10 --setups 300 --only relay,setup,ring,scale --call-limiter miniflare|memory]
import { readFileSync, readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { SignalClient } from "../test/support/signal-client.ts";
import { startWrangler } from "../test/node/support/processes.ts";
import { hs256Token } from "../test/node/support/tokens.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    calls: { type: "string", default: "500" },
    frames: { type: "string", default: "10" },
    setups: { type: "string", default: "300" },
    // Comma-separated subset of relay, setup, ring, scale (default: all).
    only: { type: "string", default: "relay,setup,ring,scale" },
    // "memory": count the caller's call limit in the room's memory, not in Miniflare's simulated
    // Rate Limiting binding (bench/signaling/worker.ts): what the simulation costs call set-up.
    "call-limiter": { type: "string", default: "miniflare" },
  },
});
const sections = new Set(values.only.split(","));
const seconds = Math.min(Number(values.seconds), 60);
const calls = Math.min(Number(values.calls), 2000);
const framesPerSocket = Math.min(Number(values.frames), 100);
const setups = Math.min(Number(values.setups), 1000);

const JWT_SECRET = "bench-only-hs256-secret-0123456789abcdef0123456789";
const worker = await startWrangler(
  {
    AUTH_JWT_SECRET: JWT_SECRET,
    TURN_SECRETS: "62656e63682d7475726e2d736563726574",
    TURN_POOLS: JSON.stringify([{ region: "local", location: { latitude: 0, longitude: 0 }, urls: ["turn:127.0.0.1:3478?transport=udp"] }]),
    // Round trips far exceed a client's normal 50 frames/s; the bench measures the relay, not the limiter.
    SIGNAL_MAX_FRAMES_PER_SECOND: "1000000",
    ...(values["call-limiter"] === "memory" ? { BENCH_CALL_LIMITER: "memory" } : {}),
  },
  { config: "bench/signaling/wrangler.toml" },
);
const wsUrl = worker.url.replace("http", "ws");
const tokens = new Map<string, string>();
const token = async (userId: string) => {
  let value = tokens.get(userId);
  if (!value) {
    value = await hs256Token(JWT_SECRET, userId, { expiresIn: "2h" });
    tokens.set(userId, value);
  }
  return value;
};

async function open(url: string, protocols?: string[]): Promise<SignalClient> {
  const ws = new WebSocket(url, protocols);
  const client = new SignalClient(ws);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no open within 15 s: ${url}`)), 15_000);
    ws.addEventListener("open", () => (clearTimeout(timer), resolve()));
    ws.addEventListener("error", () => (clearTimeout(timer), reject(new Error(`WebSocket error: ${url}`))));
  });
  return client;
}

const join = async (wsPath: string, userId: string) => open(`${wsUrl}${wsPath}`, ["signal.v1", `bearer.${await token(userId)}`]);

async function placeCall(caller: string, callee: string): Promise<{ callId: string; wsPath: string }> {
  const response = await fetch(`${worker.url}/v1/calls`, {
    method: "POST",
    headers: { authorization: `Bearer ${await token(caller)}`, "content-type": "application/json" },
    body: JSON.stringify({ callees: [callee], media: "audio" }),
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 201) throw new Error(`POST /v1/calls → ${response.status}`);
  return (await response.json()) as { callId: string; wsPath: string };
}

/** Sequential round trips a → b → a for `ms`; returns round trips per second. */
async function pingPong(a: SignalClient, b: SignalClient, frame: (n: number) => string, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  const started = performance.now();
  let trips = 0;
  while (performance.now() < deadline) {
    a.send(frame(trips));
    await b.next(undefined, 5000);
    b.send(frame(trips));
    await a.next(undefined, 5000);
    trips++;
  }
  return trips / ((performance.now() - started) / 1000);
}

function workerdRssKiB(): number {
  // workerd is a descendant of the wrangler process we started.
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
      names.set(Number(entry), name);
    } catch {
      // the process ended while we looked
    }
  }
  const root = worker.pid();
  let rss = 0;
  for (const [pid, name] of names) {
    if (name !== "workerd") continue;
    let ancestor = parents.get(pid);
    for (let depth = 0; ancestor && depth < 10 && ancestor !== root; depth++) ancestor = parents.get(ancestor);
    if (ancestor !== root) continue;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return rss;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const p = (values: number[]) => `p50 ${percentile(values, 50).toFixed(1)} ms   p99 ${percentile(values, 99).toFixed(1)} ms`;

try {
  // 1. Round trips through the call room vs the bare echo relay.
  if (sections.has("relay")) {
    const { wsPath } = await placeCall("rt-alice", "rt-bob");
    const alice = await join(wsPath, "rt-alice");
    const bob = await join(wsPath, "rt-bob");
    await alice.next("welcome");
    await bob.next("welcome");
    await alice.next("participant-joined");
    const echoA = await open(`${wsUrl}/bench/echo/room-1`);
    const echoB = await open(`${wsUrl}/bench/echo/room-1`);
    const message = (n: number) => JSON.stringify({ type: "message", data: { n, pad: "x".repeat(100) } });
    await pingPong(alice, bob, message, 1000); // warm-up
    await pingPong(echoA, echoB, message, 1000);
    // Short rounds, alternating which relay goes first, and the median of the per-round ratios:
    // on a shared machine one long run of each mostly measures what else the machine was doing.
    const rounds = 10;
    const roundMs = (seconds * 1000) / (2 * rounds);
    const roomRates: number[] = [];
    const echoRates: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const first = round % 2 === 0;
      const echoFirst = first ? await pingPong(echoA, echoB, message, roundMs) : 0;
      const room = await pingPong(alice, bob, message, roundMs);
      const echo = first ? echoFirst : await pingPong(echoA, echoB, message, roundMs);
      roomRates.push(room);
      echoRates.push(echo);
      ratios.push(room / echo);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    for (const client of [alice, bob, echoA, echoB]) client.close();
    console.log(`round trips (2 relayed frames each), ${rounds} alternating rounds of ${roundMs} ms per relay, medians`);
    console.log(`  bare echo relay DO      ${median(echoRates).toFixed(0).padStart(6)} round trips/s`);
    console.log(`  CallRoom                ${median(roomRates).toFixed(0).padStart(6)} round trips/s`);
    console.log(
      `  ratio CallRoom / echo   ${median(ratios).toFixed(2)} (target ≥ 0.9; rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
    );
  }

  // 2. POST /v1/calls → the callee's socket has the caller's offer.
  if (sections.has("setup")) {
    const phases = { total: [] as number[], post: [] as number[], join: [] as number[], offer: [] as number[] };
    for (let i = 0; i < setups; i++) {
      const t0 = performance.now();
      const call = await placeCall(`s-alice-${i}`, `s-bob-${i}`);
      const t1 = performance.now();
      const [caller, callee] = await Promise.all([join(call.wsPath, `s-alice-${i}`), join(call.wsPath, `s-bob-${i}`)]);
      const t2 = performance.now();
      caller.send({ type: "offer", sdp: "v=0" });
      while ((await callee.next(undefined, 5000)).type !== "offer");
      const t3 = performance.now();
      phases.total.push(t3 - t0);
      phases.post.push(t1 - t0);
      phases.join.push(t2 - t1);
      phases.offer.push(t3 - t2);
      // Hung up, so that no call of this section rings out (45 s later) while the next ones run.
      caller.send({ type: "hangup" });
      while ((await caller.next(undefined, 5000)).type !== "state");
      caller.close();
      callee.close();
    }
    for (const values of Object.values(phases)) values.sort((a, b) => a - b);
    // What wrangler dev costs before the service does anything: a request to /healthz (no auth, no
    // I/O) and a socket opened on the bare echo relay, each through the same local proxy.
    const floor = { request: [] as number[], socket: [] as number[] };
    for (let i = 0; i < Math.min(setups, 50); i++) {
      let t = performance.now();
      // A client address of its own each time: /healthz counts against a per-IP limit (60 a minute).
      await (await fetch(`${worker.url}/healthz`, { headers: { "cf-connecting-ip": `10.9.0.${i}` }, signal: AbortSignal.timeout(5000) })).text();
      floor.request.push(performance.now() - t);
      t = performance.now();
      (await open(`${wsUrl}/bench/echo/floor-${i}`)).close();
      floor.socket.push(performance.now() - t);
    }
    for (const values of Object.values(floor)) values.sort((a, b) => a - b);
    console.log(`POST /v1/calls → callee receives the offer (${setups} calls, sequential)`);
    console.log(`  ${p(phases.total)}   (target p50 ≤ 20 ms)`);
    console.log(`    POST /v1/calls               ${p(phases.post)}`);
    console.log(`    both sockets open            ${p(phases.join)}`);
    console.log(`    offer sent → callee has it   ${p(phases.offer)}`);
    console.log(`  wrangler dev's own floor: GET /healthz ${p(floor.request)}; open a socket on the echo relay ${p(floor.socket)}`);
  }

  // 2b. Call set-up against its floor, alternating one call each: from sending the request until
  // the callee's socket, open all along, has the call. The service: POST /v1/calls until the
  // callee's line (GET /v1/me/ws) has incoming-call, both users' lines in place (an app's regular
  // users; the caller's is open too). The floor (bench/signaling/worker.ts): a new object stores
  // one row and tells a second object holding the callee's socket, which sends one frame.
  if (sections.has("ring")) {
    const ringing = { service: [] as number[], floor: [] as number[], post: [] as number[], floorPost: [] as number[] };
    const ratioOfMedians = (a: number[], b: number[]) => percentile([...a].sort((x, y) => x - y), 50) / percentile([...b].sort((x, y) => x - y), 50);
    for (let i = 0; i < setups; i++) {
      const [caller, callee] = [`l-alice-${i}`, `l-bob-${i}`];
      const callerLine = await open(`${wsUrl}/v1/me/ws`, ["signal.v1", `bearer.${await token(caller)}`]);
      const line = await open(`${wsUrl}/v1/me/ws`, ["signal.v1", `bearer.${await token(callee)}`]);
      const floorLine = await open(`${wsUrl}/bench/floor/line/${callee}`);
      await Promise.all([callerLine.next("welcome", 5000), line.next("welcome", 5000)]);
      let callId = "";
      const service = async () => {
        const t0 = performance.now();
        const posted = placeCall(caller, callee).then((call) => (ringing.post.push(performance.now() - t0), (callId = call.callId)));
        while ((await line.next(undefined, 5000)).type !== "incoming-call");
        ringing.service.push(performance.now() - t0);
        await posted;
      };
      const floor = async () => {
        const t0 = performance.now();
        const posted = fetch(`${worker.url}/bench/floor/call`, { method: "POST", body: JSON.stringify({ callee }), signal: AbortSignal.timeout(10_000) })
          .then((response) => response.text())
          .then(() => ringing.floorPost.push(performance.now() - t0));
        await floorLine.next("incoming-call", 5000);
        ringing.floor.push(performance.now() - t0);
        await posted;
      };
      // Alternate which goes first, so neither always meets a warmer machine.
      if (i % 2 === 0) (await service(), await floor());
      else (await floor(), await service());
      // Cancelled, so that no call rings out (45 s later) while later ones are measured.
      await (await fetch(`${worker.url}/v1/calls/${callId}/end`, { method: "POST", headers: { authorization: `Bearer ${await token(caller)}` }, signal: AbortSignal.timeout(10_000) })).text();
      for (const client of [line, callerLine, floorLine]) client.close();
    }
    const order = { service: [...ringing.service], floor: [...ringing.floor] };
    for (const values of Object.values(ringing)) values.sort((a, b) => a - b);
    const limiter = values["call-limiter"] === "memory" ? "the room, in memory" : "Miniflare's simulated Rate Limiting binding";
    console.log(`call set-up: request sent → the callee's open socket has the call (${setups} calls each, alternating; call limit counted by ${limiter})`);
    console.log(`  floor (new object, one row, one object-to-object call, one send)  ${p(ringing.floor)}`);
    console.log(`  POST /v1/calls → callee's line has incoming-call                  ${p(ringing.service)}`);
    // The same ratio in 10 rounds of consecutive calls: how much the machine moved it during the run.
    const rounds = Array.from({ length: 10 }, (_, round) => {
      const [from, to] = [Math.floor((round * setups) / 10), Math.floor(((round + 1) * setups) / 10)];
      return ratioOfMedians(order.service.slice(from, to), order.floor.slice(from, to));
    }).filter(Number.isFinite);
    console.log(`  ratio of medians ${ratioOfMedians(ringing.service, ringing.floor).toFixed(2)} (target ≤ 1.3; rounds of ${Math.round(setups / 10)} calls ${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)})`);
    console.log(`  the responses: the floor's ${p(ringing.floorPost)}; POST /v1/calls (with the ICE servers) ${p(ringing.post)}`);
  }

  // 3. Scale: 2 sockets per call, each sends `framesPerSocket` frames to the other; then the same
  // on bare echo relays, for the memory a Durable Object with two sockets costs anyway.
  const roomPairs = async (n: number): Promise<[SignalClient, SignalClient]> => {
    const call = await placeCall(`c-${n}`, `d-${n}`);
    const pair: [SignalClient, SignalClient] = [await join(call.wsPath, `c-${n}`), await join(call.wsPath, `d-${n}`)];
    await pair[0].next("welcome", 10_000);
    await pair[1].next("welcome", 10_000);
    await pair[0].next("participant-joined", 10_000);
    return pair;
  };
  const echoPairs = async (n: number): Promise<[SignalClient, SignalClient]> => [
    await open(`${wsUrl}/bench/echo/scale-${n}`),
    await open(`${wsUrl}/bench/echo/scale-${n}`),
  ];
  for (const [label, makePair] of sections.has("scale") ? ([
    ["CallRoom", roomPairs],
    ["bare echo relay", echoPairs],
  ] as const) : []) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = workerdRssKiB();
    const t0 = performance.now();
    const pairs: [SignalClient, SignalClient][] = [];
    for (let i = 0; i < calls; i += 25) {
      pairs.push(...(await Promise.all(Array.from({ length: Math.min(25, calls - i) }, (_, j) => makePair(i + j)))));
    }
    const connected = performance.now();
    const frame = (n: number) => JSON.stringify({ type: "message", data: n });
    for (const [a, b] of pairs) {
      for (let n = 0; n < framesPerSocket; n++) {
        a.send(frame(n));
        b.send(frame(n));
      }
    }
    let delivered = 0;
    let misordered = 0;
    await Promise.all(
      pairs.flatMap((pair) =>
        pair.map(async (client) => {
          for (let n = 0; n < framesPerSocket; n++) {
            const received = await client.next("message", 30_000);
            if (received.data !== n) misordered++;
            delivered++;
          }
        }),
      ),
    );
    const done = performance.now();
    const during = workerdRssKiB();
    for (const [a, b] of pairs) (a.close(), b.close());
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = workerdRssKiB();
    console.log(`scale, ${label}: ${pairs.length * 2} sockets in ${pairs.length} objects, ${framesPerSocket} frames from each socket`);
    console.log(
      `  connected in ${((connected - t0) / 1000).toFixed(1)} s; ${delivered}/${pairs.length * 2 * framesPerSocket} frames delivered, ${misordered} out of order, in ${((done - connected) / 1000).toFixed(2)} s`,
    );
    console.log(`  workerd RSS: before ${mib(before)}, with all sockets ${mib(during)} (+${mib(during - before)}), 2 s after closing ${mib(after)}`);
  }
} finally {
  await worker.stop();
}
