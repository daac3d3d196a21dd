/**
 * The SDK's call report, from getStats() entries as Chrome reports them: the selected pair
 * through the transport (or the nominated succeeded pair), candidate types, the protocol the
 * media leaves by (the relay protocol over TURN), the relay's TURN URL, RTT in ms, packets lost
 * summed over inbound streams, the verdict and the time to connected; whatever is missing or not
 * a known value is left out, so the server's schema always accepts the report. The report's
 * sending (once per trigger, keepalive) runs in browsers: test/e2e/status.test.ts.
 */
import { describe, expect, it } from "vitest";
import { callReport, latestWithPair, type StatsEntry } from "../../client/src/call-report";
import { CallReportSchema } from "../../src/metrics/events";

const relayed: StatsEntry[] = [
  { id: "T01", type: "transport", selectedCandidatePairId: "CP1" },
  { id: "CP0", type: "candidate-pair", localCandidateId: "L0", remoteCandidateId: "R1", nominated: false, state: "failed" },
  { id: "CP1", type: "candidate-pair", localCandidateId: "L1", remoteCandidateId: "R1", nominated: true, state: "succeeded", currentRoundTripTime: 0.0423 },
  { id: "L0", type: "local-candidate", candidateType: "host", protocol: "udp" },
  { id: "L1", type: "local-candidate", candidateType: "relay", protocol: "udp", relayProtocol: "tls", url: "turns:turn-eu.example.com:443?transport=tcp" },
  { id: "R1", type: "remote-candidate", candidateType: "srflx", protocol: "udp" },
  { id: "IA", type: "inbound-rtp", kind: "audio", packetsLost: 3 },
  { id: "IV", type: "inbound-rtp", kind: "video", packetsLost: 4 },
];
const context = { trigger: "connected" as const, connected: true, failed: false, region: "eu", activeAt: 1000, connectedAt: 1840, iceRestarts: 0 };

describe("callReport", () => {
  it("describes a call relayed over TURN/TLS", () => {
    const report = callReport(relayed, context);
    expect(report).toEqual({
      trigger: "connected",
      outcome: "connected",
      timeToConnectedMs: 840,
      localCandidateType: "relay",
      remoteCandidateType: "srflx",
      protocol: "tls",
      relayProtocol: "tls",
      region: "eu",
      relayUrl: "turns:turn-eu.example.com:443?transport=tcp",
      roundTripTimeMs: 42.3,
      packetsLost: 7,
      iceRestarts: 0,
    });
    expect(CallReportSchema.parse(report)).toEqual(report);
  });

  it("describes a direct call, found by the nominated pair when no transport names one", () => {
    const direct: StatsEntry[] = [
      { id: "CP", type: "candidate-pair", localCandidateId: "L", remoteCandidateId: "R", nominated: true, state: "succeeded" },
      { id: "L", type: "local-candidate", candidateType: "host", protocol: "tcp" },
      { id: "R", type: "remote-candidate", candidateType: "prflx", protocol: "tcp" },
    ];
    expect(callReport(direct, { ...context, trigger: "hangup", iceRestarts: 2 })).toEqual({
      trigger: "hangup",
      outcome: "connected",
      timeToConnectedMs: 840,
      localCandidateType: "host",
      remoteCandidateType: "prflx",
      protocol: "tcp",
      region: "eu",
      iceRestarts: 2,
    });
  });

  it("gives the verdict of a call that never connected, without a pair", () => {
    const bare = { trigger: "hangup" as const, connected: false, iceRestarts: 1 };
    expect(callReport([], { ...bare, failed: true })).toEqual({ trigger: "hangup", outcome: "failed", iceRestarts: 1 });
    expect(callReport([], { ...bare, failed: false, activeAt: 5 })).toEqual({ trigger: "hangup", outcome: "never-connected", iceRestarts: 1 });
  });

  it("leaves out what is unknown or out of bounds, so the service always takes the report", () => {
    const odd: StatsEntry[] = [
      { id: "T", type: "transport", selectedCandidatePairId: "P" },
      { id: "P", type: "candidate-pair", localCandidateId: "L", remoteCandidateId: "R", currentRoundTripTime: 120 },
      { id: "L", type: "local-candidate", candidateType: "relay", protocol: "udp", relayProtocol: "quic", url: `turn:${"x".repeat(300)}` },
      { id: "R", type: "remote-candidate", candidateType: "mdns" },
    ];
    const report = callReport(odd, { ...context, region: "Not A Region", connectedAt: 10_000_000 });
    expect(report).toEqual({ trigger: "connected", outcome: "connected", timeToConnectedMs: 600_000, localCandidateType: "relay", iceRestarts: 0 });
    expect(CallReportSchema.safeParse(report).success).toBe(true);
  });
});

describe("latestWithPair", () => {
  const closing: StatsEntry[] = [{ id: "IA", type: "inbound-rtp", kind: "audio", packetsLost: 9 }];

  it("keeps fresh stats that name a pair", () => {
    expect(latestWithPair(relayed, [])).toEqual(relayed);
  });

  it("takes the pair from the last stats that had one, with the fresh inbound streams", () => {
    const merged = latestWithPair(closing, relayed);
    expect(callReport(merged, { ...context, trigger: "hangup" })).toMatchObject({ localCandidateType: "relay", remoteCandidateType: "srflx", relayProtocol: "tls", packetsLost: 9 });
    expect(latestWithPair([], relayed)).toEqual(relayed);
  });

  it("has nothing better to offer when no stats ever named a pair", () => {
    expect(latestWithPair(closing, [])).toEqual(closing);
  });
});
