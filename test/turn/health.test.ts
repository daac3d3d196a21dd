/**
 * The fleet's health rules as pure functions (src/turn/health.ts): which host each URL names and
 * where it is probed, how a run of probe outcomes moves a host between up, failing and down,
 * which URLs an ICE list keeps, and the window of hosts each cron run probes. No I/O.
 */
import { describe, expect, it } from "vitest";
import { coturnPool as pool } from "../support/pools";
import { hostOf, nextHealth, probeTargets, probeWindow, usablePools, type HostHealth, type ProbeOutcome } from "../../src/turn/health";


const EU = pool("eu", ["turn:eu1.example:3478?transport=udp", "turn:eu1.example:3478?transport=tcp", "turns:eu1.example:443?transport=tcp", "turn:eu2.example:3478"]);
const US = pool("us", ["turns:us1.example:443?transport=tcp"]);
const V6 = pool("v6", ["turn:[2001:db8::1]:3479?transport=udp", "turns:tls-only.example"]);

const OK: ProbeOutcome = { reason: "ok", detail: "allocated", latencyMs: 9 };
const REFUSED: ProbeOutcome = { reason: "unreachable", detail: "connection refused", latencyMs: null };

describe("hosts and probe targets", () => {
  it.each([
    ["turn:eu1.example:3478?transport=udp", "eu1.example"],
    ["turns:eu1.example:443?transport=tcp", "eu1.example"],
    ["stun:203.0.113.7:3478", "203.0.113.7"],
    ["turn:[2001:db8::1]:3479", "[2001:db8::1]"],
    ["turn:no-port.example?transport=tcp", "no-port.example"],
  ])("%s names host %s", (url, host) => {
    expect(hostOf(url)).toBe(host);
  });

  it("probes each host once: TCP to its turn: port, else TLS to its turns: port (default 3478 / 5349)", () => {
    expect(probeTargets([EU, US, V6])).toEqual([
      { host: "eu1.example", region: "eu", port: 3478, tls: false },
      { host: "eu2.example", region: "eu", port: 3478, tls: false },
      { host: "us1.example", region: "us", port: 443, tls: true },
      { host: "[2001:db8::1]", region: "v6", port: 3479, tls: false },
      { host: "tls-only.example", region: "v6", port: 5349, tls: true },
    ]);
  });

  it("probes every host in turn when there are more than a run may probe", () => {
    const hosts = ["a", "b", "c", "d", "e"];
    expect([0, 1, 2].map((run) => probeWindow(hosts, run, 2))).toEqual([["a", "b"], ["c", "d"], ["e", "a"]]);
    expect(probeWindow(hosts, 7, 10)).toEqual(hosts);
  });
});

describe("a host's status from its probes", () => {
  const target = { host: "eu1.example", region: "eu", port: 3478, tls: false };
  const run = (outcomes: ProbeOutcome[]) => {
    let health: HostHealth | undefined;
    const statuses: string[] = [];
    outcomes.forEach((outcome, minute) => {
      health = nextHealth(health, target, outcome, Date.UTC(2026, 11, 3, 9, minute));
      statuses.push(`${health.status}${health.listed ? "" : " (left out)"}`);
    });
    return { health: health!, statuses };
  };

  it("is dropped after two failed probes in a row and listed again at the first success", () => {
    const { statuses } = run([OK, REFUSED, OK, REFUSED, REFUSED, REFUSED, OK]);
    expect(statuses).toEqual(["up", "failing", "up", "failing", "down (left out)", "down (left out)", "up"]);
  });

  it("keeps `since` at the change of status and counts the failures", () => {
    const { health } = run([OK, REFUSED, REFUSED, REFUSED]);
    expect(health).toMatchObject({ status: "down", consecutiveFailures: 3, since: "2026-12-03T09:02:00.000Z", lastProbeAt: "2026-12-03T09:03:00.000Z", reason: "unreachable", detail: "connection refused", probe: "eu1.example:3478 over tcp" });
  });
});

describe("the pools an ICE list may use", () => {
  it("drops a down host's URLs, and a pool with none left", () => {
    expect(usablePools([EU, US], new Set(["eu1.example"]))).toEqual([{ ...EU, urls: ["turn:eu2.example:3478"] }, US]);
    expect(usablePools([EU, US], new Set(["us1.example"]))).toEqual([EU]);
  });

  it("filters a pool's own STUN URLs too", () => {
    const withStun = pool("s", ["turn:a.example:3478", "turn:b.example:3478"], ["stun:a.example:3478", "stun:b.example:3478"]);
    expect(usablePools([withStun], new Set(["a.example"]))).toEqual([{ ...withStun, urls: ["turn:b.example:3478"], stunUrls: ["stun:b.example:3478"] }]);
  });

  it("is empty when every host is down (credentials.ts then decides what goes out)", () => {
    expect(usablePools([EU, US], new Set(["eu1.example", "eu2.example", "us1.example"]))).toEqual([]);
  });
});
