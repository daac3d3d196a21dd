import { parseLabels, TIME_TO_CONNECTED_BUCKETS_MS } from "../metrics/rollup";
import type { CounterSum } from "../metrics/rollup-store";

/**
 * `GET /metrics` in the Prometheus text format (version 0.0.4): the rollup's running totals as
 * counters, and time to connected as a histogram. Totals only grow (they are kept apart from the
 * 48 h minute rows), so `rate()` and `increase()` work on them as on any exporter's.
 */
const HELP: Record<string, string> = {
  calls_placed: "Calls placed",
  calls_answered: "Calls answered",
  calls_missed: "Calls that rang out unanswered",
  calls_ended: "Calls ended, by reason",
  call_seconds: "Talk time of answered calls that ended, in seconds",
  call_reports: "Client call reports, by trigger",
  ice_connected: "Client verdicts at hang-up: connected",
  ice_failed: "Client verdicts at hang-up: failed or never connected",
  ice_verdicts: "Client verdicts at hang-up, by outcome, region and media path",
  ice_candidates: "Client verdicts at hang-up, by outcome and selected candidate types",
  ice_relayed: "Client verdicts at hang-up whose selected candidate was a relay, by the TURN pool's region and path",
  push_outcomes: "Push attempts, by provider, kind and result",
  push_delivered: "Push attempts delivered",
  push_failed: "Push attempts failed for good",
  push_problems: "Push attempts not delivered, by provider, result and reason",
  turn_credentials: "TURN credentials issued, by region",
  queue_retries: "Push queue messages retried, by job",
  queue_dead_letters: "Push queue messages dead-lettered, by notification kind",
};

const UNLABELLED = new Set(["calls_placed", "calls_answered", "calls_missed", "call_seconds", "ice_connected", "ice_failed", "push_delivered", "push_failed"]);
const PREFIX = "secureconnect_";
const HISTOGRAM = "time_to_connected_ms";

/** The exposition text of the totals. */
export function prometheusText(totals: readonly CounterSum[]): string {
  const lines: string[] = [];
  for (const name of Object.keys(HELP).sort()) {
    const rows = totals.filter((row) => row.name === name);
    lines.push(`# HELP ${PREFIX}${name}_total ${HELP[name]}`, `# TYPE ${PREFIX}${name}_total counter`);
    // A counter without labels is always there, so a scraper sees 0 rather than nothing.
    if (rows.length === 0 && UNLABELLED.has(name)) lines.push(`${PREFIX}${name}_total 0`);
    for (const row of rows.sort((a, b) => a.labels.localeCompare(b.labels))) lines.push(`${PREFIX}${name}_total${labelsText(parseLabels(row.labels))} ${row.value}`);
  }
  const buckets = new Map(totals.filter((row) => row.name === HISTOGRAM).map((row) => [parseLabels(row.labels).le ?? "+Inf", row.value]));
  const sum = totals.filter((row) => row.name === `${HISTOGRAM}_sum`).reduce((total, row) => total + row.value, 0);
  lines.push(`# HELP ${PREFIX}${HISTOGRAM} Time from the call's start to the first connected, as clients report it`, `# TYPE ${PREFIX}${HISTOGRAM} histogram`);
  let cumulative = 0;
  for (const le of [...TIME_TO_CONNECTED_BUCKETS_MS.map(String), "+Inf"]) {
    cumulative += buckets.get(le) ?? 0;
    lines.push(`${PREFIX}${HISTOGRAM}_bucket{le="${le}"} ${cumulative}`);
  }
  lines.push(`${PREFIX}${HISTOGRAM}_sum ${sum}`, `${PREFIX}${HISTOGRAM}_count ${cumulative}`);
  return `${lines.join("\n")}\n`;
}

function labelsText(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`);
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}
