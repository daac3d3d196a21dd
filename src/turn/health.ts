import { z } from "@hono/zod-openapi";
import type { TurnPool } from "./config";

/**
 * The TURN fleet's health as pure rules: which hosts the pools name and how to probe each, how
 * one probe moves a host's state, and which URLs an ICE list may carry. The probes themselves
 * are in probe.ts, the state's home in fleet.ts.
 */

const PROBE_REASONS = ["ok", "unreachable", "timeout", "bad_response", "auth_failed", "allocate_refused"] as const;

/** Why a probe failed, or `ok`. */
export type ProbeReason = (typeof PROBE_REASONS)[number];

/** What one probe of one host found. */
export interface ProbeOutcome {
  reason: ProbeReason;
  /** A human sentence: what was proven, or what failed (never a credential). */
  detail: string;
  /** Round trip of the STUN binding request, when one was answered. */
  latencyMs: number | null;
}

/** One host of the fleet as the health check reaches it: the plain TCP port of its `turn:` URLs, else TLS to `turns:`. */
export interface ProbeTarget {
  /** The host name (or IP) shared by the host's URLs: the key of its health. */
  host: string;
  region: string;
  port: number;
  tls: boolean;
}

const ReasonSchema = z.enum(PROBE_REASONS).openapi({
  description:
    "ok; unreachable (no TCP/TLS connection); timeout (no whole answer in time); bad_response (not STUN, or not what was asked); " +
    "auth_failed (401 after the nonce: the host's static-auth-secret is not the Worker's); allocate_refused (another TURN error, e.g. 486, 508)",
});

/** One probe in a host's history. */
export const ProbeRecordSchema = z
  .object({
    at: z.string().openapi({ example: "2026-12-03T09:41:00.000Z" }),
    reason: ReasonSchema,
    detail: z.string(),
    latencyMs: z.number().int().nullable(),
  })
  .openapi("TurnProbe");
export type ProbeRecord = z.output<typeof ProbeRecordSchema>;

/** A host's health as every isolate sees it (fleet.ts keeps it). */
export const HostHealthSchema = z
  .object({
    host: z.string().openapi({ example: "turn-eu1.example.com" }),
    region: z.string().openapi({ example: "eu" }),
    probe: z.string().openapi({ description: "Where the probe connects", example: "turn-eu1.example.com:3478 over tcp" }),
    status: z.enum(["unknown", "up", "failing", "down"]).openapi({
      description: "unknown: not probed yet; up: the last probe passed; failing: one failure (still listed); down: two or more in a row (left out of ICE lists)",
    }),
    listed: z.boolean().openapi({ description: "Whether ICE lists carry this host's URLs (false only when down)" }),
    reason: ReasonSchema.nullable(),
    detail: z.string().nullable(),
    latencyMs: z.number().int().nullable().openapi({ description: "Round trip of the last STUN binding request from the Worker" }),
    since: z.string().openapi({ description: "When the host entered its status (ISO 8601)" }),
    lastProbeAt: z.string().nullable(),
    consecutiveFailures: z.number().int(),
  })
  .openapi("TurnHostHealth");
export type HostHealth = z.output<typeof HostHealthSchema>;
export type HostStatus = HostHealth["status"];

/** A host is dropped from ICE lists after this many failed probes in a row (one failure is a blip). */
export const FAILURES_TO_DROP = 2;

const URL_HOST = /^(?:stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?/;

/** The host name (or IP, IPv6 in brackets) of a `stun:`, `turn:` or `turns:` URL. */
export function hostOf(url: string): string | undefined {
  return URL_HOST.exec(url)?.[1];
}

/**
 * Every host the pools name, each once, with where to probe it: TCP to the port of its first
 * `turn:` URL (coturn serves TCP and UDP on its listening port), else TLS to its `turns:` port.
 * Default ports: 3478, and 5349 for TLS.
 */
export function probeTargets(pools: readonly TurnPool[]): ProbeTarget[] {
  const targets = new Map<string, ProbeTarget>();
  for (const pool of pools) {
    for (const tls of [false, true]) {
      for (const url of pool.urls.filter((candidate) => candidate.startsWith(tls ? "turns:" : "turn:"))) {
        const match = URL_HOST.exec(url);
        if (!match || targets.has(match[1]!)) continue;
        targets.set(match[1]!, { host: match[1]!, region: pool.region, port: match[2] ? Number(match[2]) : tls ? 5349 : 3478, tls });
      }
    }
  }
  return [...targets.values()];
}

/**
 * The probe targets of one cron run: all of them when they fit in `max`, else a window of `max`
 * that moves on by `max` each run, so every host is probed in turn.
 */
export function probeWindow<T>(targets: readonly T[], run: number, max: number): T[] {
  if (targets.length <= max) return [...targets];
  const start = (run * max) % targets.length;
  return Array.from({ length: max }, (_, i) => targets[(start + i) % targets.length]!);
}

/**
 * A host's health after one probe: `up` on success; `failing` after one failure (still listed);
 * `down` from {@link FAILURES_TO_DROP} failures in a row until a probe succeeds again. `since`
 * moves only when the status changes.
 *
 * @example
 * nextHealth(undefined, target, { reason: "ok", detail: "allocated", latencyMs: 12 }, Date.now()).status; // "up"
 */
export function nextHealth(previous: HostHealth | undefined, target: ProbeTarget, outcome: ProbeOutcome, at: number): HostHealth {
  const ok = outcome.reason === "ok";
  const consecutiveFailures = ok ? 0 : (previous?.consecutiveFailures ?? 0) + 1;
  const status: HostStatus = ok ? "up" : consecutiveFailures >= FAILURES_TO_DROP ? "down" : "failing";
  const when = new Date(at).toISOString();
  return {
    host: target.host,
    region: target.region,
    probe: `${target.host}:${target.port} over ${target.tls ? "tls" : "tcp"}`,
    status,
    listed: status !== "down",
    reason: outcome.reason,
    detail: outcome.detail,
    latencyMs: outcome.latencyMs,
    since: previous?.status === status ? previous.since : when,
    lastProbeAt: when,
    consecutiveFailures,
  };
}

/** A host not probed yet: listed, since probes decide only what to leave out. */
export function unprobed(target: ProbeTarget, at: number): HostHealth {
  return {
    host: target.host,
    region: target.region,
    probe: `${target.host}:${target.port} over ${target.tls ? "tls" : "tcp"}`,
    status: "unknown",
    listed: true,
    reason: null,
    detail: null,
    latencyMs: null,
    since: new Date(at).toISOString(),
    lastProbeAt: null,
    consecutiveFailures: 0,
  };
}

/**
 * The pools an ICE list may use: each without the URLs of `down` hosts, and without the pools
 * left with no TURN URL (so the region after them is chosen). Empty when every host is down:
 * what goes out then is iceConfiguration's decision (credentials.ts), never an empty list.
 */
export function usablePools(pools: readonly TurnPool[], down: ReadonlySet<string>): TurnPool[] {
  if (down.size === 0) return [...pools];
  const up = (url: string) => !down.has(hostOf(url) ?? "");
  return pools
    .map((pool) => ({ ...pool, urls: pool.urls.filter(up), ...(pool.stunUrls ? { stunUrls: pool.stunUrls.filter(up) } : {}) }))
    .filter((pool) => pool.urls.length > 0);
}
