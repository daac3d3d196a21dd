/**
 * The events' pure parts: labels stay bounded and inert whatever they are given, provider
 * reasons shrink to their code, the media path is told from the candidate types, and each event
 * becomes the Analytics Engine data point docs/observability.md documents (index, blobs, doubles
 * in that order). Not covered here: that the runtime accepts the points (the recorder's tests).
 */
import { describe, expect, it } from "vitest";
import { dataPoint } from "../../src/metrics/analytics";
import { CallReportSchema, label, mediaPath, reasonCode } from "../../src/metrics/events";

describe("label", () => {
  it.each([
    ["eu", "eu"],
    ["UNREGISTERED", "UNREGISTERED"],
    ["a b\nc\"d", "a_b_c_d"],
    ["<script>alert(1)</script>", "_script_alert_1_script_"],
    ["", "unknown"],
    [undefined, "unknown"],
    ["x".repeat(100), "x".repeat(32)],
  ])("%j → %j", (value, expected) => {
    expect(label(value)).toBe(expected);
  });
});

describe("reasonCode", () => {
  it.each([
    ["INVALID_ARGUMENT: The registration token is not a valid FCM registration token", "INVALID_ARGUMENT"],
    ["network: Network connection lost.", "network"],
    ["provider misconfigured: check FCM_SERVICE_ACCOUNT", "provider_misconfigured"],
    ["BadDeviceToken", "BadDeviceToken"],
    [undefined, "none"],
  ])("%j → %j", (reason, expected) => {
    expect(reasonCode(reason)).toBe(expected);
  });
});

describe("mediaPath", () => {
  it.each([
    [{ localCandidateType: "host", remoteCandidateType: "host" }, "direct"],
    [{ localCandidateType: "srflx", remoteCandidateType: "prflx" }, "direct"],
    [{ localCandidateType: "relay", remoteCandidateType: "srflx", relayProtocol: "udp" }, "turn-udp"],
    [{ localCandidateType: "relay", remoteCandidateType: "relay", relayProtocol: "tcp" }, "turn-tcp"],
    [{ localCandidateType: "relay", remoteCandidateType: "host", relayProtocol: "tls" }, "turn-tls"],
    [{ localCandidateType: "relay", remoteCandidateType: "host" }, "unknown"],
    [{ localCandidateType: "host", remoteCandidateType: "relay" }, "turn-peer"],
    [{}, "unknown"],
  ] as const)("%j → %s", (pair, expected) => {
    expect(mediaPath(pair)).toBe(expected);
  });
});

describe("CallReportSchema", () => {
  it("takes what the SDK sends and refuses anything else", () => {
    const report = { trigger: "hangup", outcome: "connected", timeToConnectedMs: 900, localCandidateType: "relay", remoteCandidateType: "srflx", protocol: "tcp", relayProtocol: "tcp", region: "eu", relayUrl: "turn:turn-eu.example.com:3478?transport=tcp", roundTripTimeMs: 41.5, packetsLost: 2, iceRestarts: 1 };
    expect(CallReportSchema.parse(report)).toEqual(report);
    expect(CallReportSchema.safeParse({ ...report, extra: 1 }).success).toBe(false);
    expect(CallReportSchema.safeParse({ ...report, region: "EU; DROP TABLE" }).success).toBe(false);
    expect(CallReportSchema.safeParse({ ...report, localCandidateType: "mdns" }).success).toBe(false);
    expect(CallReportSchema.safeParse({ ...report, relayUrl: "https://evil.example/x" }).success).toBe(false);
    expect(CallReportSchema.safeParse({ ...report, timeToConnectedMs: -1 }).success).toBe(false);
    expect(CallReportSchema.safeParse({ trigger: "connected" }).success).toBe(false);
  });
});

describe("dataPoint", () => {
  it("writes a call report with the type as index, the pair as blobs and unmeasured numbers as -1", () => {
    const point = dataPoint({ type: "call-report", callId: "c1", userId: "alice", trigger: "connected", outcome: "connected", timeToConnectedMs: 700, localCandidateType: "relay", remoteCandidateType: "host", protocol: "udp", relayProtocol: "udp", region: "eu", relayRegion: "eu" });
    expect(point).toEqual({
      indexes: ["call-report"],
      blobs: ["call-report", "connected", "connected", "eu", "eu", "relay", "host", "udp", "udp", "turn-udp", "c1", "alice"],
      doubles: [700, -1, -1, -1],
    });
  });

  it("writes a push outcome with its reason code, a delivery without one", () => {
    expect(dataPoint({ type: "push", provider: "fcm", kind: "incoming-call", target: "device", result: "dead-token-removed", reason: "UNREGISTERED", latencyMs: 80 })).toEqual({
      indexes: ["push"],
      blobs: ["push", "fcm", "incoming-call", "dead-token-removed", "UNREGISTERED", "device"],
      doubles: [80],
    });
    expect(dataPoint({ type: "push", provider: "apns", kind: "custom", target: "device", result: "delivered", latencyMs: 30 }).blobs?.[4]).toBe("");
  });

  it("writes call ends, credentials and queue events", () => {
    expect(dataPoint({ type: "call", phase: "ended", reason: "hangup", durationMs: 61_000, answered: true })).toEqual({ indexes: ["call"], blobs: ["call", "ended", "hangup", "answered"], doubles: [61_000, -1, -1] });
    expect(dataPoint({ type: "call", phase: "placed", callees: 2, media: "audio" })).toEqual({ indexes: ["call"], blobs: ["call", "placed", "", "audio"], doubles: [-1, 2, -1] });
    expect(dataPoint({ type: "turn-credential", region: "us-east", userId: "bob" })).toEqual({ indexes: ["turn-credential"], blobs: ["turn-credential", "us-east", "bob"], doubles: [] });
    expect(dataPoint({ type: "queue", action: "dead-letter", job: "deliver", kind: "missed-call" })).toEqual({ indexes: ["queue"], blobs: ["queue", "dead-letter", "deliver", "missed-call"], doubles: [] });
  });
});
