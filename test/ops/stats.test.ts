/**
 * The operator's view over the real Worker: calls placed, answered and ended through the API, a
 * participant's call report, a push whose token is dead, a dead-lettered queue message and a TURN
 * credential all show in `GET /v1/admin/stats` (scope admin) and `GET /metrics` (METRICS_TOKEN or
 * scope admin). The report endpoint admits participants only, validates and bounds its body.
 * Counts are read as increases: other tests of the file record at the same minutes. The figures
 * of a window are also checked exactly from hand-made counter rows (windowStats).
 * Not covered: Analytics Engine's own storage (dropped locally; its data points are checked in
 * test/metrics/events.test.ts), and browsers sending reports (test/e2e/status.test.ts).
 */
import { env } from "cloudflare:workers";
import { createMessageBatch } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api";
import worker from "../../src/index";
import type { CallReport } from "../../src/metrics/events";
import { pushContext } from "../../src/push/context";
import { deliverToDevice } from "../../src/push/delivery";
import { windowStats, type Stats } from "../../src/ops/stats";
import { api, placeCall, user } from "../support/calls";
import { eventually } from "../support/eventually";
import { android, script } from "../support/push";
import { authHeader } from "../support/tokens";

async function stats(): Promise<Stats> {
  const response = await app.request("/v1/admin/stats", { headers: await authHeader("ops", { scope: "admin" }) }, env);
  expect(response.status).toBe(200);
  return (await response.json()) as Stats;
}

const report = (callId: string, userId: string, body: unknown) => api(userId, "POST", `/v1/calls/${callId}/report`, body);

const hangup: CallReport = {
  trigger: "hangup",
  outcome: "connected",
  timeToConnectedMs: 820,
  localCandidateType: "relay",
  remoteCandidateType: "srflx",
  protocol: "tcp",
  relayProtocol: "tcp",
  region: "eu",
  relayUrl: "turns:turn-eu.example.com:443?transport=tcp",
  roundTripTimeMs: 38,
  packetsLost: 0,
  iceRestarts: 0,
};

describe("POST /v1/calls/{callId}/report", () => {
  it("takes a participant's reports and refuses everyone else", async () => {
    const [alice, bob, eve] = [user("alice"), user("bob"), user("eve")];
    const { callId } = await placeCall(alice, [bob]);
    expect((await report(callId, alice, { ...hangup, trigger: "connected" })).status).toBe(204);
    expect((await report(callId, bob, hangup)).status).toBe(204);
    expect((await report(callId, eve, hangup)).status).toBe(403);
    expect((await report("AAAAAAAAAAAAAAAAAAAAAA", alice, hangup)).status).toBe(404);
    expect((await api(undefined, "POST", `/v1/calls/${callId}/report`, hangup)).status).toBe(401);
  });

  it("validates and bounds the body", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);
    for (const bad of [{ ...hangup, outcome: "great" }, { ...hangup, region: "Europe West" }, { ...hangup, token: "secret" }, { ...hangup, packetsLost: -1 }, "not json"]) {
      const response = await report(callId, alice, bad);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    const huge = await report(callId, alice, { ...hangup, padding: "x".repeat(5000) });
    expect(huge.status).toBe(413);
  });

  it("counts each participant's report of each trigger once, however often it is sent", async () => {
    const before = await stats();
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);
    // A region no other test reports from, so nothing else this file sends lands in its count.
    const repeated = { ...hangup, region: "ap-southeast", relayUrl: "turn:turn-apse.example.com:3478?transport=udp" };
    for (let n = 0; n < 3; n++) expect((await report(callId, bob, repeated)).status).toBe(204);
    // The three would be flushed together: one verdict seen means the repeats were dropped.
    const verdicts = (now: Stats) => now.lastHour.ice.byRegion["ap-southeast"]?.verdicts ?? 0;
    const after = await eventually(stats, (now) => verdicts(now) > verdicts(before));
    expect(verdicts(after)).toBe(verdicts(before) + 1);
  });

  it("knows the managed pool's region, and its relays, when one is configured", async () => {
    const before = await stats();
    const pools = JSON.parse(env.TURN_POOLS as unknown as string) as object[];
    const managed = { ...env, TURN_POOLS: JSON.stringify([...pools, { region: "cloudflare", provider: "cloudflare" }]), CLOUDFLARE_TURN_KEY_ID: "key-id", CLOUDFLARE_TURN_API_TOKEN: "api-token" };
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);
    const sent = await app.request(
      `/v1/calls/${callId}/report`,
      { method: "POST", headers: { ...(await authHeader(bob)), "content-type": "application/json" }, body: JSON.stringify({ ...hangup, region: "cloudflare", relayUrl: "turn:turn.cloudflare.com:3478?transport=udp" }) },
      managed,
    );
    expect(sent.status).toBe(204);
    const after = await eventually(stats, (now) => (now.lastHour.ice.byRegion.cloudflare?.verdicts ?? 0) > (before.lastHour.ice.byRegion.cloudflare?.verdicts ?? 0));
    expect(after.lastHour.ice.relayed.cloudflare).toBeDefined();
  });
});

describe("GET /v1/admin/stats", () => {
  it("needs scope admin", async () => {
    expect((await app.request("/v1/admin/stats", {}, env)).status).toBe(401);
    expect((await app.request("/v1/admin/stats", { headers: await authHeader("ops", { scope: "push:send" }) }, env)).status).toBe(403);
  });

  it("counts calls, reports by region and path, pushes, dead letters and credentials", async () => {
    const before = await stats();
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);
    expect((await api(bob, "POST", `/v1/calls/${callId}/accept`)).status).toBe(200);
    expect((await report(callId, bob, { ...hangup, trigger: "connected" })).status).toBe(204);
    expect((await report(callId, bob, hangup)).status).toBe(204);
    // A region this deployment does not have is counted as "other", never as what the client said.
    expect((await report(callId, alice, { ...hangup, outcome: "failed", region: "mars-1", relayUrl: "turn:turn.elsewhere.example:3478", localCandidateType: "host", remoteCandidateType: "host" })).status).toBe(204);
    expect((await api(alice, "POST", `/v1/calls/${callId}/end`)).status).toBe(200);
    expect((await api(alice, "GET", "/v1/calls/ice-servers")).status).toBe(200);
    const phone = await android(user("carol"));
    await script(phone.token, [{ status: 404, body: { error: { code: 404, status: "NOT_FOUND", details: [{ errorCode: "UNREGISTERED" }] } } }]);
    const notification = { id: crypto.randomUUID(), kind: "custom" as const, createdAt: Date.now(), expiresAt: Date.now() + 60_000, content: { title: "hi", priority: "high" as const } };
    expect((await deliverToDevice(pushContext(env), notification, phone)).status).toBe("dead");
    await worker.queue(createMessageBatch("secureconnect-push-dlq", [{ id: "dead-1", timestamp: new Date(), attempts: 5, body: { type: "deliver", notification, userId: phone.userId, deviceId: phone.deviceId } }]), env);

    const grew = (after: Stats) => {
      const [was, now] = [before.lastHour, after.lastHour];
      return (
        now.calls.placed > was.calls.placed &&
        now.calls.answered > was.calls.answered &&
        (now.calls.ended.hangup ?? 0) > (was.calls.ended.hangup ?? 0) &&
        now.ice.verdicts >= was.ice.verdicts + 2 &&
        (now.ice.byRegion.other?.verdicts ?? 0) > (was.ice.byRegion.other?.verdicts ?? 0) &&
        now.ice.timeToConnectedMs.samples > was.ice.timeToConnectedMs.samples &&
        (now.push.byProvider.fcm?.deadTokensRemoved ?? 0) > (was.push.byProvider.fcm?.deadTokensRemoved ?? 0) &&
        now.queue.deadLettered > was.queue.deadLettered &&
        now.turn.credentialsIssued > was.turn.credentialsIssued
      );
    };
    const after = await eventually(stats, grew);
    expect(grew(after)).toBe(true);
    const { ice, push } = after.lastHour;
    expect(ice.byRegion.eu!.paths["turn-tcp"]).toBeGreaterThan(0);
    expect(ice.byCandidateType["relay/srflx"]!.connected).toBeGreaterThan(0);
    expect(ice.byCandidateType["host/host"]!.verdicts).toBeGreaterThan(ice.byCandidateType["host/host"]!.connected);
    expect(ice.byRegion["mars-1"]).toBeUndefined();
    expect(ice.relayed.eu!["turn-tcp"]).toBeGreaterThan(0);
    expect(ice.relayed.other).toBeDefined();
    expect(push.problems).toContainEqual(expect.objectContaining({ provider: "fcm", result: "dead-token-removed", reason: "UNREGISTERED" }));
    expect(after.last24h.calls.placed).toBeGreaterThanOrEqual(after.lastHour.calls.placed);
    expect(after.series.hour.points).toHaveLength(60);
    expect(after.series.day.points).toHaveLength(48);
    expect(after.series.hour.points.at(-1)!.callsPlaced + after.series.hour.points.at(-2)!.callsPlaced).toBeGreaterThan(0);
    // The health checks have not probed the test's pools (no cron ran): known, not yet judged.
    expect(after.turnFleet).toMatchObject({ available: true, pools: expect.arrayContaining([expect.objectContaining({ region: "eu", hosts: [expect.objectContaining({ host: "turn-eu.example.com", status: "unknown" })] })]) });
    // No token, no user id other than the ids themselves, and no address ever reaches the stats.
    expect(JSON.stringify(after)).not.toContain(phone.token);
  });
});

describe("GET /metrics", () => {
  const token = "metrics-scrape-token-0123456789abcdef0123";
  const withToken = { ...env, METRICS_TOKEN: token };

  it("answers the scrape token or an admin token, nobody else", async () => {
    const scrape = await app.request("/metrics", { headers: { authorization: `Bearer ${token}` } }, withToken);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await scrape.text();
    expect(text).toContain("# TYPE secureconnect_calls_placed_total counter");
    expect(text).toMatch(/^secureconnect_calls_placed_total \d+$/m);
    expect(text).toMatch(/^secureconnect_time_to_connected_ms_bucket\{le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^secureconnect_time_to_connected_ms_count \d+$/m);
    expect((await app.request("/metrics", { headers: await authHeader("ops", { scope: "admin" }) }, withToken)).status).toBe(200);
    expect((await app.request("/metrics", { headers: { authorization: `Bearer ${token}x` } }, withToken)).status).toBe(401);
    expect((await app.request("/metrics", { headers: { authorization: `Bearer ${token}` } }, env)).status).toBe(401);
    expect((await app.request("/metrics", { headers: await authHeader("ops", { scope: "push:send" }) }, withToken)).status).toBe(403);
    expect((await app.request("/metrics", {}, withToken)).status).toBe(401);
  });
});

describe("windowStats", () => {
  it("computes the figures of a window from its counters", () => {
    const rows = [
      ["calls_placed", "", 10],
      ["calls_answered", "", 8],
      ["calls_missed", "", 2],
      ["calls_ended", "reason=hangup", 7],
      ["calls_ended", "reason=missed", 2],
      ["call_seconds", "", 600],
      ["ice_verdicts", "outcome=connected,path=direct,region=eu", 78],
      ["ice_verdicts", "outcome=connected,path=turn-udp,region=eu", 13],
      ["ice_verdicts", "outcome=connected,path=turn-tcp,region=us-east", 7],
      ["ice_verdicts", "outcome=connected,path=turn-tls,region=us-east", 2],
      ["ice_verdicts", "outcome=failed,path=unknown,region=eu", 3],
      ["ice_verdicts", "outcome=never-connected,path=unknown,region=us-east", 1],
      ["ice_candidates", "local=host,outcome=connected,remote=host", 78],
      ["ice_candidates", "local=relay,outcome=connected,remote=srflx", 22],
      ["ice_candidates", "local=unknown,outcome=failed,remote=unknown", 4],
      ["time_to_connected_ms", "le=500", 50],
      ["time_to_connected_ms", "le=1000", 50],
      ["push_outcomes", "kind=incoming-call,provider=fcm,result=delivered", 90],
      ["push_outcomes", "kind=incoming-call,provider=fcm,result=failed", 5],
      ["push_outcomes", "kind=incoming-call,provider=fcm,result=dead-token-removed", 5],
      ["push_outcomes", "kind=custom,provider=apns,result=retried", 4],
      ["push_problems", "provider=fcm,reason=UNREGISTERED,result=dead-token-removed", 5],
      ["push_problems", "provider=fcm,reason=INVALID_ARGUMENT,result=failed", 5],
      ["push_problems", "provider=apns,reason=network,result=retried", 4],
      ["queue_retries", "job=deliver", 4],
      ["queue_dead_letters", "kind=custom", 1],
      ["ice_relayed", "path=turn-udp,relay=eu", 13],
      ["ice_relayed", "path=turn-tcp,relay=eu", 3],
      ["ice_relayed", "path=turn-tcp,relay=us-east", 4],
      ["turn_credentials", "region=eu", 30],
      ["turn_credentials", "region=us-east", 12],
    ] as const;
    const window = windowStats(60, rows.map(([name, labels, value]) => ({ name, labels, value })));
    expect(window.calls).toEqual({ placed: 10, answered: 8, missed: 2, ended: { hangup: 7, missed: 2 }, answeredSeconds: 600 });
    expect(window.ice).toMatchObject({ verdicts: 104, connected: 100, failed: 3, neverConnected: 1, successRate: 0.9615 });
    expect(window.ice.paths).toEqual({
      direct: { count: 78, share: 0.78 },
      "turn-udp": { count: 13, share: 0.13 },
      "turn-tcp": { count: 7, share: 0.07 },
      "turn-tls": { count: 2, share: 0.02 },
    });
    expect(window.ice.byRegion).toEqual({
      eu: { verdicts: 94, connected: 91, successRate: 0.9681, paths: { direct: 78, "turn-udp": 13 } },
      "us-east": { verdicts: 10, connected: 9, successRate: 0.9, paths: { "turn-tcp": 7, "turn-tls": 2 } },
    });
    expect(window.ice.byCandidateType).toEqual({
      "host/host": { verdicts: 78, connected: 78, successRate: 1 },
      "relay/srflx": { verdicts: 22, connected: 22, successRate: 1 },
      "unknown/unknown": { verdicts: 4, connected: 0, successRate: 0 },
    });
    expect(window.ice.timeToConnectedMs).toEqual({ samples: 100, p50: 500, p95: 975 });
    expect(window.ice.relayed).toEqual({ eu: { "turn-udp": 13, "turn-tcp": 3 }, "us-east": { "turn-tcp": 4 } });
    expect(window.push).toMatchObject({ sent: 104, delivered: 90, failed: 5, deadTokensRemoved: 5, retried: 4, deliveryRate: 0.8654 });
    expect(window.push.byProvider.fcm).toEqual({ sent: 100, delivered: 90, retried: 0, deadTokensRemoved: 5, failed: 5, deliveryRate: 0.9 });
    expect(window.push.problems[0]).toEqual({ provider: "fcm", result: "dead-token-removed", reason: "UNREGISTERED", count: 5 });
    expect(window.queue).toEqual({ retries: 4, deadLettered: 1 });
    expect(window.turn).toEqual({ credentialsIssued: 42, byRegion: { eu: 30, "us-east": 12 } });
  });

  it("adds up rows of the same counter read from two spans", () => {
    const row = { name: "push_problems", labels: "provider=fcm,reason=UNREGISTERED,result=dead-token-removed", value: 2 };
    expect(windowStats(1440, [row, { ...row, value: 3 }]).push.problems).toEqual([{ provider: "fcm", result: "dead-token-removed", reason: "UNREGISTERED", count: 5 }]);
  });

  it("has no rates without samples", () => {
    const window = windowStats(60, []);
    expect(window.ice.successRate).toBeNull();
    expect(window.push.deliveryRate).toBeNull();
    expect(window.ice.timeToConnectedMs).toEqual({ samples: 0, p50: null, p95: null });
  });
});
