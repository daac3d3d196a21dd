// Requests per second of `GET /v1/calls/ice-servers` (JWT verification + HMAC + region choice)
// against a bare `GET /healthz`, on the same `wrangler dev`, in the same run.
//   npm run bench:ice                 (defaults: 8 s per round, 32 concurrent requests)
//   npm run bench:ice -- --seconds 15 --concurrency 64
// Loopback only; every round is bounded in time. Prints both rates and their ratio.
import { parseArgs } from "node:util";
import { startWrangler } from "../test/node/support/processes.ts";
import { hs256Token } from "../test/node/support/tokens.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "8" }, concurrency: { type: "string", default: "32" } },
});
const seconds = Math.min(Number(values.seconds), 120);
const concurrency = Math.min(Number(values.concurrency), 256);

const JWT_SECRET = "bench-only-hs256-secret-0123456789abcdef0123456789";
const worker = await startWrangler({
  AUTH_JWT_SECRET: JWT_SECRET,
  TURN_SECRETS: "62656e63682d7475726e2d736563726574",
  CORS_ALLOWED_ORIGINS: "*",
  TURN_POOLS: JSON.stringify([
    { region: "eu", location: { latitude: 50.11, longitude: 8.68 }, urls: ["turn:turn-eu.example.com:3478?transport=udp", "turns:turn-eu.example.com:443?transport=tcp"] },
    { region: "us-east", location: { latitude: 39.04, longitude: -77.49 }, urls: ["turn:turn-use.example.com:3478?transport=udp"] },
    { region: "ap", location: { latitude: 1.35, longitude: 103.82 }, urls: ["turn:turn-ap.example.com:3478?transport=udp"] },
  ]),
});

// Credentials are limited to 60 a minute per user, and requests without a token to 60 a minute per
// IP (src/platform/request-limits.ts): the load comes from pools of users and of client addresses
// large enough that none reaches its limit, as real traffic would. (wrangler dev takes the
// client's `cf-connecting-ip` as given; Cloudflare's edge sets it.)
const POOL = 4000;
const tokens = await Promise.all(Array.from({ length: POOL }, (_, n) => hs256Token(JWT_SECRET, `bench-user-${n}`, { expiresIn: "1h" })));
let next = 0;
const client = () => ({ "cf-connecting-ip": `10.${(next >> 16) & 255}.${(next >> 8) & 255}.${next++ & 255}` });
const withToken = () => ({ ...client(), authorization: `Bearer ${tokens[next % POOL]}` });

interface Round {
  requests: number;
  errors: number;
  latencies: number[];
  elapsed: number;
}

async function round(path: string, headers: () => Record<string, string>, durationMs: number): Promise<Round> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const response = await fetch(`${worker.url}${path}`, { headers: headers(), signal: AbortSignal.timeout(5000) });
          await response.arrayBuffer();
          if (response.status !== 200) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { requests: latencies.length, errors, latencies, elapsed: performance.now() - started };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

function summary(name: string, rounds: Round[]) {
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const elapsed = rounds.reduce((sum, r) => sum + r.elapsed, 0) / 1000;
  const sorted = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const errors = rounds.reduce((sum, r) => sum + r.errors, 0);
  const rate = requests / elapsed;
  console.log(
    `${name.padEnd(28)} ${rate.toFixed(0).padStart(7)} req/s   p50 ${percentile(sorted, 50).toFixed(2)} ms   p99 ${percentile(sorted, 99).toFixed(2)} ms   errors ${errors}`,
  );
  return rate;
}

try {
  const ice = { path: "/v1/calls/ice-servers", headers: withToken };
  const health = { path: "/healthz", headers: client };
  await round(ice.path, ice.headers, 1500); // warm-up: JIT, isolate, key import caches
  await round(health.path, health.headers, 1500);
  // Interleave halves so drift (thermal, other load) hits both routes alike.
  const half = (seconds * 1000) / 2;
  const healthRounds: Round[] = [];
  const iceRounds: Round[] = [];
  healthRounds.push(await round(health.path, health.headers, half));
  iceRounds.push(await round(ice.path, ice.headers, half));
  iceRounds.push(await round(ice.path, ice.headers, half));
  healthRounds.push(await round(health.path, health.headers, half));

  console.log(`wrangler dev on loopback, ${concurrency} concurrent requests, ${seconds} s per route`);
  const healthRate = summary("GET /healthz", healthRounds);
  const iceRate = summary("GET /v1/calls/ice-servers", iceRounds);
  console.log(`ratio ice-servers / healthz: ${(iceRate / healthRate).toFixed(2)} (target ≥ 0.80)`);
} finally {
  await worker.stop();
}
