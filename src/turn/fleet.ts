import { z } from "@hono/zod-openapi";
import { DurableObject } from "cloudflare:workers";
import { eachLimited, orAfter } from "../platform/concurrency";
import { ConfigError } from "../platform/config";
import { log } from "../platform/log";
import { turnConfig } from "./config";
import { issueTurnCredential } from "./credentials";
import {
  FAILURES_TO_DROP,
  HostHealthSchema,
  hostOf,
  nextHealth,
  probeTargets,
  probeWindow,
  ProbeRecordSchema,
  unprobed,
  type HostHealth,
  type ProbeOutcome,
  type ProbeRecord,
  type ProbeTarget,
} from "./health";
import { probeHost } from "./probe";

/**
 * The TURN fleet's health: a cron job probes every host (probe.ts), one Durable Object keeps
 * each host's state and last probes, and every isolate keeps a copy of which hosts are down for
 * a few seconds, so an ICE request costs no I/O for it (docs/turn.md).
 */

/** Bounds of one cron run: per probe, at once (Workers allow 6 open connections), per run. */
export const PROBE_TIMEOUT_MS = 4_000;
const PROBE_CONCURRENCY = 5;
const MAX_HOSTS_PER_RUN = 30;
/** No probe starts later than this into a run, so a run ends within about this + one probe. */
const RUN_BUDGET_MS = 20_000;
/** The user id of the probe's credential (coturn logs it; it never reaches a client). */
const PROBE_USER = "turn-health-check";
const PROBE_CREDENTIAL_TTL = 300;
/** Probes kept per host. */
const HISTORY = 30;

/** An isolate re-reads the down hosts at most this often while requests come... */
const FRESH_MS = 5_000;
/** ...serving its copy while it re-reads, unless the copy is older than this... */
const STALE_MS = 30_000;
/** ...when the request waits for the read, at most this long (then goes on without it). */
const READ_TIMEOUT_MS = 1_000;

type Probe = { target: ProbeTarget; outcome: ProbeOutcome };

/** One run's changes of status, for the logs. */
type Change = { host: string; region: string; from: HostHealth["status"]; to: HostHealth["status"]; reason: string | null; detail: string | null };

/**
 * The fleet's health, one object for the whole deployment (`idFromName("fleet")`): written once
 * a minute by the cron job, read by each isolate at most every few seconds.
 */
export class TurnFleet extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS host (host TEXT PRIMARY KEY, health TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS probe (host TEXT NOT NULL, at INTEGER NOT NULL, record TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS probe_by_host ON probe (host, at);`);
  }

  /** Applies one run's probes, forgets hosts no longer configured, and says what changed. */
  record(configured: string[], probes: Probe[], at: number): { down: string[]; changes: Change[] } {
    const known = this.hosts();
    const changes: Change[] = [];
    for (const { target, outcome } of probes) {
      const previous = known.get(target.host);
      const health = nextHealth(previous, target, outcome, at);
      known.set(target.host, health);
      this.sql.exec("INSERT INTO host (host, health) VALUES (?, ?) ON CONFLICT (host) DO UPDATE SET health = excluded.health", target.host, JSON.stringify(health));
      const record: ProbeRecord = { at: new Date(at).toISOString(), reason: outcome.reason, detail: outcome.detail, latencyMs: outcome.latencyMs };
      this.sql.exec("INSERT INTO probe (host, at, record) VALUES (?, ?, ?)", target.host, at, JSON.stringify(record));
      this.sql.exec(
        "DELETE FROM probe WHERE host = ? AND rowid NOT IN (SELECT rowid FROM probe WHERE host = ? ORDER BY at DESC, rowid DESC LIMIT ?)",
        target.host,
        target.host,
        HISTORY,
      );
      if (previous?.status !== health.status) {
        changes.push({ host: target.host, region: target.region, from: previous?.status ?? "unknown", to: health.status, reason: health.reason, detail: health.detail });
      }
    }
    const keep = new Set(configured);
    for (const host of known.keys()) {
      if (keep.has(host)) continue;
      this.sql.exec("DELETE FROM host WHERE host = ?", host);
      this.sql.exec("DELETE FROM probe WHERE host = ?", host);
      known.delete(host);
    }
    return { down: [...known.values()].filter((health) => !health.listed).map((health) => health.host), changes };
  }

  /** The hosts ICE lists leave out now. */
  down(): string[] {
    return [...this.hosts().values()].filter((health) => !health.listed).map((health) => health.host);
  }

  /** Every host's health and its last probes, newest first. */
  status(): { hosts: HostHealth[]; history: Record<string, ProbeRecord[]> } {
    const history: Record<string, ProbeRecord[]> = {};
    for (const row of this.sql.exec<{ host: string; record: string }>("SELECT host, record FROM probe ORDER BY at DESC, rowid DESC")) {
      (history[row.host] ??= []).push(JSON.parse(row.record) as ProbeRecord);
    }
    return { hosts: [...this.hosts().values()], history };
  }

  private hosts(): Map<string, HostHealth> {
    const rows = this.sql.exec<{ host: string; health: string }>("SELECT host, health FROM host").toArray();
    return new Map(rows.map((row) => [row.host, JSON.parse(row.health) as HostHealth]));
  }
}

const fleet = (env: Env) => env.TURN_FLEET.get(env.TURN_FLEET.idFromName("fleet"));

/**
 * The cron job: probes every TURN host of every own pool (a window of at most 30 per run,
 * 5 at a time, each within {@link PROBE_TIMEOUT_MS}), records the outcomes, and logs each host
 * that went down or came back. Never throws: a broken TURN configuration, or a fleet object that
 * cannot be reached, is logged (the hosts keep their last state until the next run).
 */
export async function probeTurnFleet(env: Env, now = Date.now()): Promise<void> {
  let turn;
  try {
    turn = turnConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log("error", "turn_probe_skipped", { problem: "TURN configuration invalid", variables: error.variables });
    return;
  }
  const targets = probeTargets(turn.pools);
  if (targets.length === 0) return;
  const started = Date.now();
  const credential = await issueTurnCredential({ userId: PROBE_USER, secret: turn.secrets[0]!, ttl: PROBE_CREDENTIAL_TTL, now });
  const probes: Probe[] = [];
  await eachLimited(probeWindow(targets, Math.floor(now / 60_000), MAX_HOSTS_PER_RUN), PROBE_CONCURRENCY, async (target) => {
    if (Date.now() - started > RUN_BUDGET_MS) return;
    probes.push({ target, outcome: await probeHost(target, { username: credential.username, password: credential.credential }, PROBE_TIMEOUT_MS) });
  });
  let recorded: Awaited<ReturnType<ReturnType<typeof fleet>["record"]>>;
  try {
    recorded = await fleet(env).record(
      targets.map((target) => target.host),
      probes,
      now,
    );
  } catch (error) {
    log("error", "turn_probe_unrecorded", { probed: probes.length, message: String(error) });
    return;
  }
  const { down, changes } = recorded;
  // This isolate knows the new state already: its next ICE list needs no read.
  listings.set(env, { down: new Set(down), readAt: Date.now() });
  for (const change of changes) {
    log(change.to === "down" ? "warn" : "info", "turn_host_status", { ...change });
  }
  const failed = probes.filter((probe) => probe.outcome.reason !== "ok");
  log(failed.length ? "warn" : "info", "turn_fleet_probed", {
    hosts: targets.length,
    probed: probes.length,
    failed: failed.map((probe) => ({ host: probe.target.host, reason: probe.outcome.reason })),
    down,
    durationMs: Date.now() - started,
  });
}

interface Listing {
  down: ReadonlySet<string>;
  readAt: number;
  refreshing?: Promise<ReadonlySet<string>>;
}

// Per isolate, per env object (tests pass their own env to get their own copy).
const listings = new WeakMap<object, Listing>();
const NONE: ReadonlySet<string> = new Set();

/**
 * The hosts ICE lists leave out, from this isolate's copy: no I/O while the copy is under 5 s
 * old; a re-read in the background (`waitUntil`) while it is under 30 s; else the request waits
 * for the read, at most 1 s. A failed read keeps the last copy (or none: every host listed).
 */
export async function downHosts(env: Env, waitUntil: (promise: Promise<unknown>) => void): Promise<ReadonlySet<string>> {
  const cached = listings.get(env);
  const age = cached ? Date.now() - cached.readAt : Infinity;
  if (cached && age < FRESH_MS) return cached.down;
  const refresh = cached?.refreshing ?? reread(env, cached);
  if (cached && age < STALE_MS) {
    waitUntil(refresh);
    return cached.down;
  }
  waitUntil(refresh);
  return orAfter(refresh, READ_TIMEOUT_MS, () => cached?.down ?? NONE);
}

function reread(env: Env, cached: Listing | undefined): Promise<ReadonlySet<string>> {
  const refreshing = fleet(env)
    .down()
    .then(
      (hosts) => new Set(hosts),
      (error: unknown) => {
        log("warn", "turn_health_unreadable", { error: String(error) });
        return cached?.down ?? NONE;
      },
    )
    .then((down) => {
      listings.set(env, { down, readAt: Date.now() });
      return down;
    });
  listings.set(env, { down: cached?.down ?? NONE, readAt: cached?.readAt ?? 0, refreshing });
  return refreshing;
}

/** One pool as `GET /v1/admin/turn` shows it. */
const PoolStatusSchema = z
  .object({
    region: z.string().openapi({ example: "eu" }),
    provider: z.enum(["coturn", "cloudflare"]),
    listed: z.boolean().openapi({ description: "Whether ICE lists may use this pool (some host listed; a managed pool always)" }),
    hosts: z.array(HostHealthSchema.extend({ history: z.array(ProbeRecordSchema).openapi({ description: "The last 30 probes, newest first" }) })),
  })
  .openapi("TurnPoolStatus");

/** The fleet's state: what `GET /v1/admin/turn` returns and what the status page shows. */
export const TurnFleetStatusSchema = z
  .object({
    pools: z.array(PoolStatusSchema),
    allDown: z.boolean().openapi({ description: "Every own host is down: ICE lists then carry every pool anyway (never an empty list)" }),
    probe: z.object({
      intervalSeconds: z.number().int().openapi({ example: 60 }),
      failuresToDrop: z.number().int().openapi({ example: 2 }),
      timeoutMs: z.number().int().openapi({ example: PROBE_TIMEOUT_MS }),
    }),
  })
  .openapi("TurnFleetStatus");
export type TurnFleetStatus = z.output<typeof TurnFleetStatusSchema>;

/**
 * The fleet as configured, with each host's health and last probes: `GET /v1/admin/turn`, and
 * the status page. One Durable Object read.
 *
 * @example
 * const { pools, allDown } = await turnFleetStatus(env);
 */
export async function turnFleetStatus(env: Env): Promise<TurnFleetStatus> {
  const turn = turnConfig(env);
  const targets = new Map(probeTargets(turn.pools).map((target) => [target.host, target]));
  const { hosts, history } = await fleet(env).status();
  const health = new Map(hosts.map((host) => [host.host, host]));
  const now = Date.now();
  const pools = turn.pools.map((pool) => {
    const names = [...new Set(pool.urls.map(hostOf).filter((host) => host !== undefined))];
    const poolHosts = names.map((name) => ({ ...(health.get(name) ?? unprobed(targets.get(name)!, now)), history: history[name] ?? [] }));
    return { region: pool.region, provider: "coturn" as const, listed: poolHosts.some((host) => host.listed), hosts: poolHosts };
  });
  const allDown = pools.length > 0 && pools.every((pool) => !pool.listed);
  const managed = turn.managed ? [{ region: turn.managed.region, provider: "cloudflare" as const, listed: true, hosts: [] }] : [];
  return { pools: [...pools, ...managed], allDown, probe: { intervalSeconds: 60, failuresToDrop: FAILURES_TO_DROP, timeoutMs: PROBE_TIMEOUT_MS } };
}
