// Fan-out of one notification on `wrangler dev`, against fake FCM and APNs
// (test/support/fake-push.ts) that answer after 20 ms: wall time, sends/s and the ratio to the
// ideal for the sender's concurrency. Devices belong to users of 20 devices each (the most a
// user keeps). Three paths:
// 1. POST /v1/push/send to 8 users (160 devices): first attempts inline, 6 at a time;
// 2. POST /v1/push/send to every user (1,000 devices): 202, through the queue's fan-out;
// 3. POST /v1/calls to 32 callees (640 devices): incoming-call pushes through the queue.
//   npm run bench:push [-- --devices 1000 --latency 20]
// Loopback only; every wait is bounded.
import { parseArgs } from "node:util";
import { startFakePush } from "../test/support/fake-push.ts";
import { startWrangler } from "../test/node/support/processes.ts";
import { hs256Token } from "../test/node/support/tokens.ts";

const { values } = parseArgs({ options: { devices: { type: "string", default: "1000" }, latency: { type: "string", default: "20" } } });
const PER_USER = 20; // MAX_DEVICES_PER_USER in src/devices/roster.ts
const INLINE_USERS = 8; // INLINE_MAX_USERS in src/push/send.ts
const MAX_CALLEES = 32;
const deviceCount = Math.max(PER_USER * INLINE_USERS, Math.min(Number(values.devices), 5000));
const users = Array.from({ length: Math.ceil(deviceCount / PER_USER) }, (_, u) => `bench-user-${u}`);
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
/** Registers `PER_USER` devices, half FCM and half APNs, for each user (ten users at a time). */
async function registerAll() {
  for (let start = 0; start < users.length; start += 10) {
    await Promise.all(
      users.slice(start, start + 10).map(async (userId, k) => {
        const bearer = await token(userId);
        for (let j = 0; j < PER_USER; j++) {
          const n = (start + k) * PER_USER + j;
          const device =
            n % 2 === 0
              ? { provider: "fcm", platform: "android", token: `bench-${userId}-${n}:APA91b${"x".repeat(100)}` }
              : { provider: "apns", platform: "ios", token: hex(n, "a"), voipToken: hex(n, "b") };
          await call("PUT", `/v1/devices/d${j}`, bearer, device);
        }
      }),
    );
  }
}

/** Waits (at most two minutes) until the providers accepted `count` pushes since `since`. */
async function providersGot(count: number, since: number): Promise<number> {
  let delivered = 0;
  const deadline = Date.now() + 120_000;
  while (delivered < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    delivered = await receivedCount(since);
  }
  return delivered;
}

async function receivedCount(since: number): Promise<number> {
  const records = (await (await fetch(`${fake.url}/_control/records`)).json()) as { kind: string; at: number; status: number }[];
  return records.filter((record) => (record.kind === "fcm" || record.kind === "apns") && record.at >= since && record.status === 200).length;
}

const ideal = (devices: number) => (Math.ceil(devices / CONCURRENCY) * latencyMs) / 1000;

try {
  const total = users.length * PER_USER;
  console.log(`${total} devices of ${users.length} users (half FCM, half APNs), providers answer after ${latencyMs} ms, ${CONCURRENCY} sends at a time per invocation`);
  await registerAll();
  const pusher = await token("bench-backend", "push:send");
  const inlineUsers = users.slice(0, INLINE_USERS);
  const inlineDevices = INLINE_USERS * PER_USER;
  await call("POST", "/v1/push/send", pusher, { userIds: inlineUsers, notification: { kind: "silent" } }); // warm-up: tokens, isolate

  // 1. push/send to 8 users: first attempts inline.
  const t0 = performance.now();
  const result = (await call("POST", "/v1/push/send", pusher, { userIds: inlineUsers, notification: { kind: "custom", title: "Bench" } })) as {
    summary: Record<string, number>;
  };
  const wall = (performance.now() - t0) / 1000;
  console.log(
    `POST /v1/push/send, ${inlineDevices} devices inline: ${wall.toFixed(2)} s, ${(inlineDevices / wall).toFixed(0)} sends/s, ${(wall / ideal(inlineDevices)).toFixed(2)}× ideal (${ideal(inlineDevices).toFixed(2)} s) ${JSON.stringify(result.summary)}`,
  );

  // 2. push/send to every user: through the queue's fan-out.
  let since = Date.now();
  const t1 = performance.now();
  await call("POST", "/v1/push/send", pusher, { userIds: users, notification: { kind: "custom", title: "Bench, queued" } });
  const answered = (performance.now() - t1) / 1000;
  let delivered = await providersGot(total, since);
  let elapsed = (performance.now() - t1) / 1000;
  console.log(
    `POST /v1/push/send, ${users.length} users → 202 in ${(answered * 1000).toFixed(0)} ms; ${delivered}/${total} at the providers via the queue: ${elapsed.toFixed(2)} s, ${(delivered / elapsed).toFixed(0)} sends/s, ${(elapsed / ideal(total)).toFixed(2)}× one invocation's ideal (${ideal(total).toFixed(2)} s)`,
  );

  // 3. An incoming call to 32 callees through the queue.
  const callees = users.slice(0, MAX_CALLEES);
  const ringing = callees.length * PER_USER;
  since = Date.now();
  const t2 = performance.now();
  await call("POST", "/v1/calls", await token("bench-caller"), { callees, media: "audio" });
  delivered = await providersGot(ringing, since);
  elapsed = (performance.now() - t2) / 1000;
  console.log(
    `POST /v1/calls, ${callees.length} callees → ${delivered}/${ringing} incoming-call pushes at the providers via the queue: ${elapsed.toFixed(2)} s, ${(delivered / elapsed).toFixed(0)} sends/s, ${(elapsed / ideal(ringing)).toFixed(2)}× one invocation's ideal`,
  );
} finally {
  await worker.stop();
  await fake.close();
}
