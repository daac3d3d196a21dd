import { DurableObject } from "cloudflare:workers";
import { readCounters } from "../metrics/recorder";
import { MINUTE_MS, minuteOf } from "../metrics/rollup";
import { log } from "../platform/log";
import { opsConfig, type AlertThresholds } from "./config";
import { windowStats, type StatsWindow } from "./stats";

/**
 * Alerts (docs/observability.md): every minute the cron evaluates three conditions over the last
 * `ALERT_WINDOW_MINUTES` and posts to `ALERT_WEBHOOK_URL` (a Slack-compatible `text`, plus the
 * figures as JSON) when one starts firing, again at most once per window while it fires, and
 * once when it clears. What is firing and when it was last said lives in one Durable Object, so
 * the rule holds whichever isolate runs the cron, and a run never overlaps another.
 */

export type Condition = "push_failure_ratio" | "ice_failure_ratio" | "dead_letters";

export interface Measurement {
  condition: Condition;
  value: number;
  threshold: number;
  /** Events the value is computed from (a ratio with too few does not fire). */
  samples: number;
  firing: boolean;
}

/** What the webhook receives. */
export interface AlertMessage {
  text: string;
  alert: { condition: Condition; status: "firing" | "resolved"; value: number; threshold: number; samples: number; windowMinutes: number; at: string };
}

export type AlertState = Partial<Record<Condition, { firing: boolean; lastSentAt: number }>>;

const DESCRIPTION: Record<Condition, { what: string; ratio: boolean }> = {
  push_failure_ratio: { what: "push failure ratio (failed of delivered + failed)", ratio: true },
  ice_failure_ratio: { what: "ICE failure ratio (failed or never connected, of answered calls' client verdicts)", ratio: true },
  dead_letters: { what: "push messages dead-lettered", ratio: false },
};

/** The three conditions over one window's figures. */
export function measure(window: StatsWindow, thresholds: AlertThresholds): Measurement[] {
  const ratio = (condition: Condition, bad: number, samples: number, threshold: number): Measurement => {
    const value = samples === 0 ? 0 : bad / samples;
    return { condition, value, threshold, samples, firing: samples >= thresholds.minSamples && value > threshold };
  };
  const pushSamples = window.push.delivered + window.push.failed;
  const dead = window.queue.deadLettered;
  return [
    ratio("push_failure_ratio", window.push.failed, pushSamples, thresholds.pushFailureRatio),
    ratio("ice_failure_ratio", window.ice.failed + window.ice.neverConnected, window.ice.verdicts, thresholds.iceFailureRatio),
    { condition: "dead_letters", value: dead, threshold: thresholds.deadLetters, samples: dead, firing: dead >= thresholds.deadLetters },
  ];
}

/**
 * What to say now, and each condition's state once it is said: a condition that starts firing is
 * announced; one still firing is repeated once `windowMinutes` after it was last announced; one
 * that stops is announced resolved. Nothing else.
 */
export function decide(measurements: readonly Measurement[], state: AlertState, now: number, windowMinutes: number): { message: AlertMessage; next: AlertState }[] {
  const decisions: { message: AlertMessage; next: AlertState }[] = [];
  for (const m of measurements) {
    const previous = state[m.condition];
    const due = m.firing ? !previous?.firing || now - previous.lastSentAt >= windowMinutes * MINUTE_MS : previous?.firing === true;
    if (!due) continue;
    decisions.push({ message: messageFor(m, m.firing ? "firing" : "resolved", now, windowMinutes), next: { [m.condition]: { firing: m.firing, lastSentAt: now } } });
  }
  return decisions;
}

function messageFor(m: Measurement, status: "firing" | "resolved", now: number, windowMinutes: number): AlertMessage {
  const { what, ratio } = DESCRIPTION[m.condition];
  const shown = (value: number) => (ratio ? `${(value * 100).toFixed(1)}%` : String(value));
  const limit = ratio ? `above ${shown(m.threshold)}, with at least the minimum of samples` : `at least ${m.threshold}`;
  const text =
    status === "firing"
      ? `[FIRING] SecureConnect Edge: ${what} is ${shown(m.value)} over the last ${windowMinutes} min (alert when ${limit}; ${m.samples} events)`
      : `[RESOLVED] SecureConnect Edge: ${what} is back to ${shown(m.value)} over the last ${windowMinutes} min`;
  return {
    text,
    alert: { condition: m.condition, status, value: m.value, threshold: m.threshold, samples: m.samples, windowMinutes, at: new Date(now).toISOString() },
  };
}

/** What one run did, for the log and the tests. */
export interface AlertRun {
  measurements: Measurement[];
  sent: AlertMessage[];
  /** Messages the webhook did not take: they are tried again on the next run. */
  undelivered: AlertMessage[];
}

/** The cron job: the alert monitor evaluates and posts; a failure is logged, never thrown. */
export async function runAlerts(env: Env, now = Date.now(), monitor = "alerts"): Promise<AlertRun | undefined> {
  try {
    const { webhookUrl, thresholds } = opsConfig(env);
    return await env.ALERT_MONITOR.get(env.ALERT_MONITOR.idFromName(monitor)).run({ ...(webhookUrl ? { webhookUrl } : {}), thresholds }, now);
  } catch (error) {
    log("error", "alerts_failed", { message: String(error) });
    return undefined;
  }
}

const WEBHOOK_TIMEOUT_MS = 10_000;

/** Keeps what is firing and when it was last said; runs one evaluation at a time. */
export class AlertMonitor extends DurableObject<Env> {
  private running: Promise<AlertRun> | undefined;

  async run(config: { webhookUrl?: string; thresholds: AlertThresholds }, now: number): Promise<AlertRun> {
    // A run that overlaps one under way (a slow webhook) waits for it instead of saying the same twice.
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.evaluate(config, now);
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async evaluate({ webhookUrl, thresholds }: { webhookUrl?: string; thresholds: AlertThresholds }, now: number): Promise<AlertRun> {
    const answer = await readCounters(this.env, { until: minuteOf(now), windows: [thresholds.windowMinutes], series: [] });
    const measurements = measure(windowStats(thresholds.windowMinutes, answer.windows[0] ?? []), thresholds);
    let state = this.ctx.storage.kv.get<AlertState>("state") ?? {};
    const run: AlertRun = { measurements, sent: [], undelivered: [] };
    for (const { message, next } of decide(measurements, state, now, thresholds.windowMinutes)) {
      log(message.alert.status === "firing" ? "error" : "info", "alert", { ...message.alert, webhook: webhookUrl !== undefined });
      if (webhookUrl && !(await post(webhookUrl, message))) {
        run.undelivered.push(message);
        continue;
      }
      run.sent.push(message);
      state = { ...state, ...next };
      this.ctx.storage.kv.put("state", state);
    }
    return run;
  }
}

async function post(url: string, message: AlertMessage): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (!response.ok) log("error", "alert_webhook_refused", { status: response.status });
    return response.ok;
  } catch (error) {
    log("error", "alert_webhook_failed", { message: String(error) });
    return false;
  }
}
