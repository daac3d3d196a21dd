/**
 * The rollup's pure rules: which counters each event moves (ICE verdicts from the hang-up report
 * only, time to connected from the first-connected one, into fixed buckets), that a flush sums
 * equal rows, and the histogram quantile (Prometheus' interpolation). Not covered here: storage
 * (rollup-store.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { MetricEvent } from "../../src/metrics/events";
import { bucketOf, combine, increments, labelText, minuteOf, parseLabels, quantile } from "../../src/metrics/rollup";

const now = Date.UTC(2026, 11, 3, 10, 30, 15);
const minute = minuteOf(now);
const names = (event: MetricEvent) => increments(event, now).map(({ name, labels, value }) => `${name}{${labels}} ${value}`);
const report = { type: "call-report", callId: "c", userId: "u", region: "eu", localCandidateType: "srflx", remoteCandidateType: "host" } as const;

describe("increments", () => {
  it("counts a call's life", () => {
    expect(names({ type: "call", phase: "placed", callees: 1, media: "video" })).toEqual(["calls_placed{} 1"]);
    expect(names({ type: "call", phase: "answered", ringMs: 3000 })).toEqual(["calls_answered{} 1"]);
    expect(names({ type: "call", phase: "missed" })).toEqual(["calls_missed{} 1"]);
    expect(names({ type: "call", phase: "ended", reason: "hangup", durationMs: 90_400, answered: true })).toEqual(["calls_ended{reason=hangup} 1", "call_seconds{} 90"]);
    expect(names({ type: "call", phase: "ended", reason: "missed", durationMs: 0, answered: false })).toEqual(["calls_ended{reason=missed} 1"]);
  });

  it("takes the ICE verdict from the hang-up report, and time to connected from the first-connected one", () => {
    expect(names({ ...report, trigger: "connected", outcome: "connected", timeToConnectedMs: 640 })).toEqual([
      "call_reports{trigger=connected} 1",
      "time_to_connected_ms{le=750} 1",
      "time_to_connected_ms_sum{} 640",
    ]);
    expect(names({ ...report, trigger: "failed", outcome: "failed" })).toEqual(["call_reports{trigger=failed} 1"]);
    expect(names({ ...report, trigger: "hangup", outcome: "connected", localCandidateType: "relay", relayProtocol: "tls", relayRegion: "eu" })).toEqual([
      "call_reports{trigger=hangup} 1",
      "ice_connected{} 1",
      "ice_verdicts{outcome=connected,path=turn-tls,region=eu} 1",
      "ice_candidates{local=relay,outcome=connected,remote=host} 1",
      "ice_relayed{path=turn-tls,relay=eu} 1",
    ]);
    expect(names({ ...report, trigger: "hangup", outcome: "connected", timeToConnectedMs: 640 })).toEqual([
      "call_reports{trigger=hangup} 1",
      "ice_connected{} 1",
      "ice_verdicts{outcome=connected,path=direct,region=eu} 1",
      "ice_candidates{local=srflx,outcome=connected,remote=host} 1",
    ]);
    expect(names({ type: "call-report", callId: "c", userId: "u", trigger: "hangup", outcome: "never-connected" })).toEqual([
      "call_reports{trigger=hangup} 1",
      "ice_failed{} 1",
      "ice_verdicts{outcome=never-connected,path=unknown,region=unknown} 1",
      "ice_candidates{local=unknown,outcome=never-connected,remote=unknown} 1",
    ]);
  });

  it("counts push outcomes with their reason codes", () => {
    expect(names({ type: "push", provider: "fcm", kind: "incoming-call", target: "device", result: "delivered", latencyMs: 5 })).toEqual([
      "push_outcomes{kind=incoming-call,provider=fcm,result=delivered} 1",
      "push_delivered{} 1",
    ]);
    expect(names({ type: "push", provider: "apns", kind: "custom", target: "device", result: "failed", reason: "InvalidProviderToken", latencyMs: 5 })).toEqual([
      "push_outcomes{kind=custom,provider=apns,result=failed} 1",
      "push_problems{provider=apns,reason=InvalidProviderToken,result=failed} 1",
      "push_failed{} 1",
    ]);
    expect(names({ type: "push", provider: "fcm", kind: "custom", target: "topic", result: "retried", reason: "network: lost", latencyMs: 5 })).toEqual([
      "push_outcomes{kind=custom,provider=fcm,result=retried} 1",
      "push_problems{provider=fcm,reason=network,result=retried} 1",
    ]);
  });

  it("counts credentials and the queue, at the event's own minute when it has one", () => {
    expect(increments({ type: "turn-credential", region: "eu", userId: "u", at: now - 120_000 }, now)).toEqual([{ minute: minute - 2, name: "turn_credentials", labels: "region=eu", value: 1 }]);
    expect(names({ type: "queue", action: "retry", job: "deliver", kind: "custom" })).toEqual(["queue_retries{job=deliver} 1"]);
    expect(names({ type: "queue", action: "dead-letter", job: "deliver" })).toEqual(["queue_dead_letters{kind=unknown} 1"]);
  });
});

describe("combine", () => {
  it("sums rows of the same minute, counter and labels", () => {
    const a = { minute, name: "calls_placed", labels: "", value: 1 };
    expect(combine([a, a, { ...a, minute: minute + 1 }, { ...a, labels: "x=y" }, a])).toEqual([
      { ...a, value: 3 },
      { ...a, minute: minute + 1 },
      { ...a, labels: "x=y" },
    ]);
  });
});

describe("labels", () => {
  it("have one text for the same labels, and read back", () => {
    expect(labelText({ region: "eu", outcome: "connected" })).toBe(labelText({ outcome: "connected", region: "eu" }));
    expect(parseLabels(labelText({ region: "eu", outcome: "connected" }))).toEqual({ region: "eu", outcome: "connected" });
    expect(parseLabels("")).toEqual({});
  });
});

describe("the time-to-connected histogram", () => {
  it("puts a time in the first bucket that holds it", () => {
    expect([0, 250, 251, 999, 1000, 29_999, 30_000, 30_001, 600_000].map(bucketOf)).toEqual(["250", "250", "500", "1000", "1000", "30000", "30000", "+Inf", "+Inf"]);
  });

  it("interpolates quantiles within a bucket", () => {
    expect(quantile({}, 0.5)).toBeUndefined();
    expect(quantile({ "500": 1, "1000": 1 }, 0.5)).toBe(500);
    expect(quantile({ "1000": 4 }, 0.5)).toBe(875);
    expect(quantile({ "250": 90, "3000": 10 }, 0.95)).toBe(2500);
    expect(quantile({ "+Inf": 3 }, 0.5)).toBe(30_000);
  });
});
