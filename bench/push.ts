// Fan-out of one notification to 1,000 devices on `wrangler dev`, against fake FCM and APNs
// (test/support/fake-push.ts) that answer after 20 ms: wall time, sends/s and the ratio to the
// ideal for the sender's concurrency. Two paths:
// 1. POST /v1/push/send: first attempts inline, 6 at a time;
// 2. POST /v1/calls: the incoming-call push through the queue (fan-out job → per-device jobs).
//   npm run bench:push [-- --devices 1000 --latency 20]
// Loopback only; every wait is bounded.
import { parseArgs } from "node:util";
import { startFakePush } from "../test/support/fake-push.ts";
import { startWrangler } from "../test/node/support/processes.ts";
import { hs256Token } from "../test/node/support/tokens.ts";

const { values } = parseArgs({ options: { devices: { type: "string", default: "1000" }, latency: { type: "string", default: "20" } } });
const deviceCount = Math.min(Number(values.devices), 5000);
const latencyMs = Math.min(Number(values.latency), 1000);
const CONCURRENCY = 6; // SEND_CONCURRENCY in src/push/context.ts: the platform's per-invocation limit

const fake = await startFakePush({ latencyMs });
const JWT_SECRET = "bench-only-hs256-secret-0123456789abcdef0123456789";
const worker = await startWrangler({
  AUTH_JWT_SECRET: JWT_SECRET,
  TURN_SECRETS: "62656e63682d7475726e2d736563726574",
  TURN_POOLS: JSON.stringify([{ region: "local", location: { latitude: 0, longitude: 0 }, urls: ["turn:127.0.0.1:3478?transport=udp"] }]),
  FCM_SERVICE_ACCOUNT: fake.serviceAccount,
  GOOGLE_TOKEN_URL: `${fake.url}/token`,
  FCM_BASE_URL: fake.url,
  FCM_IID_URL: fake.url,
  APNS_KEY: fake.apnsKey,
  APNS_KEY_ID: fake.apnsKeyId,
  APNS_TEAM_ID: fake.apnsTeamId,
  APNS_BUNDLE_ID: fake.bundleId,
  APNS_BASE_URL: fake.url,
});
const token = (sub: string, scope?: string) => hs256Token(JWT_SECRET, sub, { expiresIn: "1h", ...(scope ? { scope } : {}) });

async function call(method: string, path: string, bearer: string, body?: unknown) {
  const response = await fetch(`${worker.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(120_000),
  });
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${await response.text()}`);
  return response.json() as Promise<Record<string, unknown>>;
}

const hex = (n: number, salt: string) => (salt + n.toString(16)).padStart(64, "0").slice(-64);
async function register(userId: string) {
  const bearer = await token(userId);
  for (let start = 0; start < deviceCount; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, deviceCount - start) }, (_, j) => {
        const n = start + j;
        const device =
          n % 2 === 0
            ? { provider: "fcm", platform: "android", token: `bench-${userId}-${n}:APA91b${"x".repeat(100)}` }
            : { provider: "apns", platform: "ios", token: hex(n, "a"), voipToken: hex(n, "b") };
        return call("PUT", `/v1/devices/d${n}`, bearer, device);
      }),
    );
  }
}

async function receivedCount(since: number): Promise<number> {
  const records = (await (await fetch(`${fake.url}/_control/records`)).json()) as { kind: string; at: number; status: number }[];
  return records.filter((record) => (record.kind === "fcm" || record.kind === "apns") && record.at >= since && record.status === 200).length;
}

try {
  const ideal = (Math.ceil(deviceCount / CONCURRENCY) * latencyMs) / 1000;
  console.log(`${deviceCount} devices (half FCM, half APNs), providers answer after ${latencyMs} ms, ${CONCURRENCY} sends at a time`);
  console.log(`ideal: ${ideal.toFixed(2)} s`);

  // 1. push/send, inline.
  await register("bench-push");
  const pusher = await token("bench-backend", "push:send");
  await call("POST", "/v1/push/send", pusher, { userIds: ["bench-push"], notification: { kind: "silent" } }); // warm-up: tokens, isolate
  const t0 = performance.now();
  const result = (await call("POST", "/v1/push/send", pusher, { userIds: ["bench-push"], notification: { kind: "custom", title: "Bench" } })) as {
    summary: Record<string, number>;
  };
  const wall = (performance.now() - t0) / 1000;
  console.log(`POST /v1/push/send: ${wall.toFixed(2)} s, ${(deviceCount / wall).toFixed(0)} sends/s, ${(wall / ideal).toFixed(2)}× ideal (target ≤ 1.3×) ${JSON.stringify(result.summary)}`);

  // 2. An incoming call through the queue.
  await register("bench-callee");
  const since = Date.now();
  const t1 = performance.now();
  await call("POST", "/v1/calls", await token("bench-caller"), { callees: ["bench-callee"], media: "audio" });
  let delivered = 0;
  const deadline = Date.now() + 120_000;
  while (delivered < deviceCount && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    delivered = await receivedCount(since);
  }
  const queued = (performance.now() - t1) / 1000;
  console.log(`POST /v1/calls → ${delivered}/${deviceCount} incoming-call pushes at the providers via the queue: ${queued.toFixed(2)} s, ${(delivered / queued).toFixed(0)} sends/s, ${(queued / ideal).toFixed(2)}× ideal`);
} finally {
  await worker.stop();
  await fake.close();
}
