/**
 * The optional APNs relay (docs/APNS-RELAY.md) end to end, on 127.0.0.1: the Worker under
 * `wrangler dev` sends HTTP/1.1 to a real HAProxy running turn-infra/apns-relay/haproxy.cfg, which
 * speaks HTTP/2 (TLS, ALPN h2, certificate verified) to a fake APNs that accepts HTTP/2 only.
 * It proves that pushes arrive as APNs requires them — over HTTP/2, at the right environment's
 * host, with a provider token that verifies and without the relay's secret — that APNs' answers
 * flow back (a dead token is removed), and that the relay refuses, without forwarding, anything
 * without the secret or outside APNs' paths and limits.
 * Not covered: the relay's TLS listener with a real certificate, Apple itself (never contacted),
 * Terraform's cloud-init (turn-infra's `terraform test` renders it) and the Docker image.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeApns, type ApnsReceived, type FakeApns } from "./support/fake-apns";
import { freePort, startHaproxy, startWrangler, type Running } from "./support/processes";
import { hs256Token } from "./support/tokens";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "../..");
const CONFIG = join(REPO, "turn-infra/apns-relay/haproxy.cfg");
const JWT_SECRET = "apns-relay-test-hs256-secret-0123456789abcdef";
const RELAY_SECRET = randomBytes(32).toString("hex");
// Accepted too, as during a rotation of the secret.
const PREVIOUS_SECRET = randomBytes(32).toString("hex");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const apnsToken = () => randomBytes(32).toString("hex");

let fake: FakeApns;
let relay: Running & { url: string };
let worker: Running & { url: string };

beforeAll(async () => {
  fake = await startFakeApns();
  const relayPort = await freePort();
  const haproxy = await startHaproxy(
    {
      APNS_RELAY_SECRET_SHA256: sha256(RELAY_SECRET),
      APNS_RELAY_PREVIOUS_SECRET_SHA256: sha256(PREVIOUS_SECRET),
      APNS_RELAY_BIND: `127.0.0.1:${relayPort}`,
      // Plain HTTP on loopback for the test; hosts listen with TLS (the default).
      APNS_RELAY_TLS: "off",
      APNS_PRODUCTION_SERVER: fake.address,
      APNS_SANDBOX_SERVER: fake.address,
      APNS_CA_FILE: fake.caFile,
    },
    relayPort,
  );
  relay = { ...haproxy, url: `http://127.0.0.1:${relayPort}` };
  worker = await startWrangler({
    AUTH_JWT_SECRET: JWT_SECRET,
    TURN_SECRETS: "61706e732d72656c61792d74657374",
    TURN_POOLS: JSON.stringify([{ region: "local", location: { latitude: 0, longitude: 0 }, urls: ["turn:127.0.0.1:3478?transport=udp"] }]),
    APNS_KEY: fake.key,
    APNS_KEY_ID: fake.keyId,
    APNS_TEAM_ID: fake.teamId,
    APNS_BUNDLE_ID: fake.bundleId,
    APNS_RELAY_URL: relay.url,
    APNS_RELAY_SECRET: RELAY_SECRET,
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await relay?.stop();
  await fake?.close();
});

async function api(userId: string, method: string, path: string, body?: unknown, scope?: string) {
  const response = await fetch(`${worker.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${await hs256Token(JWT_SECRET, userId, scope ? { scope } : {})}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as Record<string, unknown> };
}

const registerIphone = (userId: string, deviceId: string, device: { token: string; environment: "production" | "sandbox"; voipToken?: string }) =>
  api(userId, "PUT", `/v1/devices/${deviceId}`, { provider: "apns", platform: "ios", ...device });

const pushTo = (userId: string) =>
  api("backend", "POST", "/v1/push/send", { userIds: [userId], notification: { kind: "custom", title: "Hello", body: "through the relay" } }, "push:send");

/** What the fake received for `token`, waiting up to `timeoutMs` for at least one request. */
async function receivedFor(token: string, timeoutMs = 15_000): Promise<ApnsReceived[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = fake.received.filter((request) => request.token === token);
    if (found.length > 0) return found;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`the fake APNs received nothing for …${token.slice(-6)} within ${timeoutMs} ms`);
}

function expectApnsRequest(request: ApnsReceived, expected: { authority: string; token: string; pushType: string; topic: string }) {
  expect(request.alpn).toBe("h2");
  expect(request.headers).toMatchObject({
    ":method": "POST",
    ":scheme": "https",
    ":authority": expected.authority,
    ":path": `/3/device/${expected.token}`,
    "apns-push-type": expected.pushType,
    "apns-topic": expected.topic,
    "content-type": "application/json",
  });
  expect(request.providerToken).toEqual({ kid: fake.keyId, iss: fake.teamId });
  // The relay's secret went no further than the relay; nor did anything naming the Worker.
  expect(Object.keys(request.headers)).not.toContain("x-relay-secret");
  expect(Object.keys(request.headers).filter((name) => /^(cf-|x-forwarded|forwarded)/.test(name))).toEqual([]);
  expect(JSON.stringify(request.headers)).not.toContain(RELAY_SECRET);
}

describe("pushes through the relay", () => {
  it("reaches production APNs over HTTP/2 with APNs' headers and a verified provider token, and not the secret", async () => {
    const token = apnsToken();
    expect((await registerIphone("rita", "rita-phone", { token, environment: "production" })).status).toBe(201);
    const sent = await pushTo("rita");
    expect(sent.body).toMatchObject({ summary: { delivered: 1, failed: 0, retrying: 0, removed: 0 }, devices: [{ deviceId: "rita-phone", provider: "apns", status: "delivered" }] });
    const [request, ...more] = await receivedFor(token);
    expect(more).toEqual([]);
    expect(request!.status).toBe(200);
    expectApnsRequest(request!, { authority: "api.push.apple.com", token, pushType: "alert", topic: fake.bundleId });
    expect(request!.headers).toMatchObject({ "apns-priority": "10" });
    expect(request!.payload).toMatchObject({ aps: { alert: { title: "Hello", body: "through the relay" } } });
  });

  it("reaches sandbox APNs for a sandbox device, at Apple's path (the /sandbox prefix is the relay's)", async () => {
    const token = apnsToken();
    await registerIphone("sam", "sam-phone", { token, environment: "sandbox" });
    expect((await pushTo("sam")).body).toMatchObject({ summary: { delivered: 1 } });
    const [request] = await receivedFor(token);
    expectApnsRequest(request!, { authority: "api.sandbox.push.apple.com", token, pushType: "alert", topic: fake.bundleId });
  });

  it("rings a callee's iPhone with a VoIP push on <bundle>.voip", async () => {
    const [token, voipToken] = [apnsToken(), apnsToken()];
    await registerIphone("vic", "vic-phone", { token, voipToken, environment: "production" });
    const call = await api("carla", "POST", "/v1/calls", { callees: ["vic"], media: "audio" });
    expect(call.status).toBe(201);
    const [request] = await receivedFor(voipToken);
    expectApnsRequest(request!, { authority: "api.push.apple.com", token: voipToken, pushType: "voip", topic: `${fake.bundleId}.voip` });
    expect(request!.payload).toMatchObject({ type: "incoming-call", callId: call.body.callId, caller: "carla" });
  });

  it.each([
    ["400 BadDeviceToken", { status: 400, reason: "BadDeviceToken" }],
    ["410 Unregistered", { status: 410, reason: "Unregistered", timestamp: Date.now() + 60_000 }],
  ])("carries APNs' %s back, and the Worker removes the device", async (_name, answer) => {
    const token = apnsToken();
    fake.script(token, answer);
    await registerIphone("dora", "dora-phone", { token, environment: "production" });
    const sent = await pushTo("dora");
    expect(sent.body).toMatchObject({ summary: { removed: 1 }, devices: [{ deviceId: "dora-phone", status: "removed", reason: answer.reason }] });
    expect((await receivedFor(token))[0]).toMatchObject({ status: answer.status, reason: answer.reason });
    expect((await api("dora", "GET", "/v1/devices")).body.devices).toEqual([]);
  });
});

describe("the relay refuses", () => {
  const relayPost = (path: string, headers: Record<string, string>, body = '{"aps":{}}') =>
    fetch(`${relay.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body, signal: AbortSignal.timeout(10_000) });

  it.each([
    ["no secret", {}],
    ["a wrong secret", { "x-relay-secret": randomBytes(32).toString("hex") }],
    ["the secret's hash", { "x-relay-secret": sha256(RELAY_SECRET) }],
    ["the previous secret's hash", { "x-relay-secret": sha256(PREVIOUS_SECRET) }],
    ["an empty secret", { "x-relay-secret": "" }],
  ])("%s with a constant 403, forwarding nothing", async (_name, headers) => {
    const before = fake.received.length;
    const token = apnsToken();
    const response = await relayPost(`/3/device/${token}`, { ...headers, authorization: "bearer x", "apns-topic": fake.bundleId });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ reason: "RelayForbidden" });
    expect(fake.received.length).toBe(before);
  });

  it("nothing with the previous secret (a rotation): it forwards the request, without the secret", async () => {
    const token = apnsToken();
    const response = await relayPost(`/3/device/${token}`, { "x-relay-secret": PREVIOUS_SECRET, authorization: "bearer not-a-jwt", "apns-topic": fake.bundleId });
    // Apple's answer, not the relay's: the request went through.
    expect([response.status, await response.json()]).toEqual([403, { reason: "InvalidProviderToken" }]);
    const [request] = await receivedFor(token);
    expect(Object.keys(request!.headers)).not.toContain("x-relay-secret");
  });

  it.each([
    ["another path", "/4/device/abc", "POST", '{"aps":{}}', 404, "BadPath"],
    ["another method", "/3/device/abcdef", "PUT", '{"aps":{}}', 405, "MethodNotAllowed"],
    ["a body over 5 KB", "/3/device/abcdef", "POST", JSON.stringify({ aps: {}, pad: "x".repeat(5200) }), 413, "PayloadTooLarge"],
  ])("%s, even with the secret, forwarding nothing", async (_name, path, method, body, status, reason) => {
    const before = fake.received.length;
    const response = await fetch(`${relay.url}${path}`, { method, headers: { "x-relay-secret": RELAY_SECRET }, body, signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ reason });
    expect(fake.received.length).toBe(before);
  });
});

describe("what is logged", () => {
  it("names no device token and no secret, in the relay's log or the Worker's", () => {
    const tokens = fake.received.map((request) => request.token);
    expect(tokens.length).toBeGreaterThan(3);
    expect(relay.output()).toMatch(/ apns_relay apns_production\/apple POST 200 .* apns-id=[0-9a-f-]{36}\n/);
    expect(relay.output()).toMatch(/ apns_relay apns_sandbox\/apple POST 200 /);
    expect(relay.output()).toMatch(/ apns_relay apns_relay\/<NOSRV> POST 403 /);
    for (const output of [relay.output(), worker.output()]) {
      for (const secret of [RELAY_SECRET, PREVIOUS_SECRET]) expect(output).not.toContain(secret);
      for (const token of tokens) expect(output).not.toContain(token);
    }
  });
});

describe("haproxy -c", () => {
  let dir: string;
  beforeAll(async () => {
    // A certificate and key in one PEM, as hosts hold their TURN certificate for the relay.
    dir = mkdtempSync(join(tmpdir(), "sce-relay-check-"));
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=relay.test", "-keyout", join(dir, "relay.pem"), "-out", join(dir, "cert.pem")], { timeout: 20_000 });
    writeFileSync(join(dir, "relay.pem"), (await run("cat", [join(dir, "cert.pem"), join(dir, "relay.pem")])).stdout);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Apple's names are replaced by addresses so that the check resolves nothing.
  const check = (env: Record<string, string>) =>
    run("haproxy", ["-c", "-f", CONFIG], {
      env: { PATH: process.env.PATH, APNS_PRODUCTION_SERVER: "127.0.0.1:9", APNS_SANDBOX_SERVER: "127.0.0.1:9", ...env } as unknown as NodeJS.ProcessEnv,
      timeout: 20_000,
    });

  it("accepts the production settings: TLS with the host's certificate, the system CAs", async () => {
    const { stdout } = await check({ APNS_RELAY_SECRET_SHA256: sha256(RELAY_SECRET), APNS_RELAY_CERT: join(dir, "relay.pem"), APNS_RELAY_BIND: "127.0.0.1:8443" });
    expect(stdout).toContain("Configuration file is valid");
  });

  it("refuses to start without the secret's hash, or with TLS and no certificate", async () => {
    await expect(check({ APNS_RELAY_CERT: join(dir, "relay.pem") })).rejects.toThrow(/APNS_RELAY_SECRET_SHA256 is required/);
    await expect(check({ APNS_RELAY_SECRET_SHA256: sha256(RELAY_SECRET), APNS_RELAY_CERT: join(dir, "missing.pem") })).rejects.toThrow(/missing\.pem/);
  });
});

describe("the compose deployment", () => {
  it("validates with the relay's override file, and refuses it without APNS_RELAY_SECRET_SHA256", async () => {
    const compose = join(REPO, "turn-infra/compose");
    const base = { PATH: process.env.PATH, HOME: tmpdir(), TURN_REALM: "turn.example.com", TURN_SECRETS: "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c" };
    const validate = (env: Record<string, string | undefined>) =>
      run("docker-compose", ["--project-directory", compose, "-f", join(compose, "compose.yaml"), "-f", join(compose, "apns-relay.yaml"), "config", "-q"], {
        env: env as unknown as NodeJS.ProcessEnv,
        timeout: 30_000,
      });
    await expect(validate({ ...base, APNS_RELAY_SECRET_SHA256: sha256(RELAY_SECRET) })).resolves.toBeDefined();
    await expect(validate(base)).rejects.toThrow(/APNS_RELAY_SECRET_SHA256/);
  });
});
