/**
 * scripts/check-push.mjs (`npm run check:push`): first against a small local HTTP server standing
 * in for the Worker (what it asks, the line per provider it prints, its exit status for a pass, a
 * provider failure, no provider, a refused or unreachable request, bad usage), then once end to
 * end: the script → `wrangler dev` → the fake Google OAuth, FCM and APNs of the workers tests.
 * The endpoint's own cases are tested in workerd (test/push/check.test.ts). Not covered: real
 * Google and Apple, the APNs relay.
 */
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakePush, type FakePush, type Received } from "../support/fake-push";
import { startWrangler, type Running } from "./support/processes";
import { hs256Token } from "./support/tokens";

const SCRIPT = join(import.meta.dirname, "../../scripts/check-push.mjs");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const { CHECK_PUSH_TOKEN: _ignored, ...parent } = process.env;
    execFile(process.execPath, [SCRIPT, ...args], { env: { ...parent, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr });
    });
  });
}

const passing = (latencyMs: number, detail: string) => ({ configured: true, ok: true, latencyMs, detail });
const notConfigured = { configured: false, ok: false, latencyMs: null, detail: "not configured: sends go to the log provider" };

// What the stand-in answers next, and what it was asked.
let next: { status: number; body: string } = { status: 200, body: "{}" };
const asked: { method: string; url: string; authorization: string }[] = [];
const answer = (status: number, body: unknown) => (next = { status, body: typeof body === "string" ? body : JSON.stringify(body) });

const server = createServer((request: IncomingMessage, response) => {
  asked.push({ method: request.method ?? "", url: request.url ?? "", authorization: request.headers.authorization ?? "" });
  response.writeHead(next.status, { "content-type": "application/json" });
  response.end(next.body);
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("npm run check:push", () => {
  it("asks POST /v1/admin/push/check with the token, prints a line per provider and exits 0 when both pass", async () => {
    answer(200, { ok: true, providers: { fcm: passing(212, "validate_only message accepted"), apns: passing(97, "APNs (production): BadDeviceToken") } });
    const result = await run(["--url", `${base}/`, "--token", "admin.jwt.value"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(asked.at(-1)).toEqual({ method: "POST", url: "/v1/admin/push/check", authorization: "Bearer admin.jwt.value" });
    expect(result.stdout.split("\n")).toEqual([
      "fcm   configured     ok       212 ms  validate_only message accepted",
      "apns  configured     ok        97 ms  APNs (production): BadDeviceToken",
      "push check ok",
      "",
    ]);
  });

  it("prints each app's providers as <app>/<provider>, and a PUSH_APPS that does not read", async () => {
    answer(200, { ok: false, providers: { fcm: passing(20, "ok") }, apps: { second: { apns: passing(30, "BadDeviceToken") } }, appsProblem: "provider misconfigured: check PUSH_APPS" });
    const result = await run(["--url", base, "--token", "admin.jwt.value"]);
    expect(result.code).toBe(1);
    expect(result.stdout.split("\n")).toEqual([
      "fcm         configured     ok        20 ms  ok",
      "second/apns configured     ok        30 ms  BadDeviceToken",
      "PUSH_APPS: provider misconfigured: check PUSH_APPS",
      "",
    ]);
  });

  it("exits 1 and names the provider when a configured one fails", async () => {
    answer(200, { ok: false, providers: { fcm: { configured: true, ok: false, latencyMs: 40, detail: "Google OAuth: token endpoint answered 400 invalid_grant" }, apns: passing(90, "ok") } });
    const result = await run(["--url", base, "--token", "t.t.t"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("fcm   configured     FAILED    40 ms  Google OAuth: token endpoint answered 400 invalid_grant");
    expect(result.stderr).toBe("push check FAILED: fcm\n");
  });

  it("passes with no provider configured, saying so, and takes the token from CHECK_PUSH_TOKEN", async () => {
    answer(200, { ok: true, providers: { fcm: notConfigured, apns: notConfigured } });
    const result = await run(["--url", base, "--apns-environment", "sandbox"], { CHECK_PUSH_TOKEN: "from.the.env" });
    expect(result.code).toBe(0);
    expect(asked.at(-1)).toMatchObject({ url: "/v1/admin/push/check?apnsEnvironment=sandbox", authorization: "Bearer from.the.env" });
    expect(result.stdout).toContain("apns  not configured -             -  not configured: sends go to the log provider");
    expect(result.stdout).toContain("no provider configured");
  });

  it("exits 3 with the API's error when the request is refused", async () => {
    answer(403, { error: { code: "forbidden", message: "this endpoint needs a token with scope admin" } });
    const result = await run(["--url", base, "--token", "t.t.t"]);
    expect(result).toMatchObject({ code: 3, stdout: "" });
    expect(result.stderr).toBe(`push check could not run: ${base} answered 403 forbidden: this endpoint needs a token with scope admin\n`);
  });

  it.each([
    ["an HTML page", 502, "<html>Bad gateway</html>", "answered 502 without a JSON body"],
    ["some other JSON", 200, { status: "ok" }, "is not a push check result"],
  ])("exits 3 on %s", async (_what, status, body, message) => {
    answer(status, body);
    const result = await run(["--url", base, "--token", "t.t.t"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(message);
  });

  it("exits 3 when nothing listens at the URL", async () => {
    // A port that was just free: bound, then released.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await run(["--url", `http://127.0.0.1:${port}`, "--token", "t.t.t"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^push check could not run: cannot reach http:\/\/127\.0\.0\.1:\d+: /);
  });

  it.each([
    [["--token", "t.t.t"], "--url"],
    [["--url", "ftp://example.com", "--token", "t.t.t"], "--url"],
    [["--url", "http://127.0.0.1:1"], "a token is needed"],
    [["--url", "http://127.0.0.1:1", "--token", "t.t.t", "--apns-environment", "staging"], "--apns-environment"],
    [["--url", "http://127.0.0.1:1", "--token", "t.t.t", "--frobnicate"], "Unknown option"],
  ])("exits 2 with the usage for %j", async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("usage: npm run check:push");
  });
});

describe("npm run check:push against wrangler dev", () => {
  const SECRET = "check-push-test-hs256-secret-0123456789abcdef";
  let fake: FakePush;
  let worker: Running & { url: string };

  beforeAll(async () => {
    fake = await startFakePush();
    worker = await startWrangler({
      AUTH_JWT_SECRET: SECRET,
      TURN_SECRETS: "636865636b2d707573682d74657374",
      TURN_POOLS: JSON.stringify([{ region: "local", location: { latitude: 0, longitude: 0 }, urls: ["turn:127.0.0.1:3478?transport=udp"] }]),
      FCM_SERVICE_ACCOUNT: fake.serviceAccount,
      GOOGLE_TOKEN_URL: `${fake.url}/token`,
      FCM_BASE_URL: fake.url,
      APNS_KEY: fake.apnsKey,
      APNS_KEY_ID: fake.apnsKeyId,
      APNS_TEAM_ID: fake.apnsTeamId,
      APNS_BUNDLE_ID: fake.bundleId,
      APNS_BASE_URL: fake.url,
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await fake?.close();
  });

  it("passes with an admin token, proving both providers while delivering nothing; a push:send token is refused", async () => {
    const passed = await run(["--url", worker.url, "--token", await hs256Token(SECRET, "ops", { scope: "admin" })]);
    expect(passed.code, passed.stderr).toBe(0);
    expect(passed.stdout).toMatch(/^fcm {5}configured {5}ok +\d+ ms {2}access token issued .*validate_only message accepted/m);
    expect(passed.stdout).toMatch(/^apns {4}configured {5}ok +\d+ ms {2}APNs \(APNS_BASE_URL\): .*400 BadDeviceToken/m);
    expect(passed.stdout).toMatch(/^webpush not configured -/m);
    const records = (await (await fetch(`${fake.url}/_control/records`)).json()) as Received[];
    // One exchange, one validation, one refused probe (FCM's and APNs' run in parallel, in any order).
    const seen = records.map(({ kind, status, delivered }) => ({ kind, status, delivered }));
    expect(seen).toHaveLength(3);
    expect(seen).toEqual(
      expect.arrayContaining([
        { kind: "token", status: 200, delivered: false },
        { kind: "fcm", status: 200, delivered: false },
        { kind: "apns", status: 400, delivered: false },
      ]),
    );

    const refused = await run(["--url", worker.url, "--token", await hs256Token(SECRET, "backend", { scope: "push:send" })]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("403 forbidden");
  });
});
