/**
 * Alerts: the three conditions measured from a window (with the minimum of samples for ratios),
 * the once-per-window rule and "resolved" as a table over time, and the alert monitor end to end
 * against the fake Slack-style webhook (test/support/fake-webhook.ts): real events recorded into
 * the rollup at a minute of the test's own, a firing message with a `text`, silence on the next
 * run, a reminder one window later, "resolved" when the events age out of the window, and a
 * webhook that is down retried on the next run instead of being marked sent. The cron handler is
 * driven once through the Worker's `scheduled`. Not covered: Slack itself.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { readCounters, record } from "../../src/metrics/recorder";
import { minuteOf } from "../../src/metrics/rollup";
import { RETENTION_MINUTES } from "../../src/metrics/rollup-store";
import { decide, measure, runAlerts, type AlertMessage, type AlertState } from "../../src/ops/alerts";
import { windowStats } from "../../src/ops/stats";
import { eventually } from "../support/eventually";

const thresholds = { windowMinutes: 15, minSamples: 20, pushFailureRatio: 0.2, iceFailureRatio: 0.15, deadLetters: 1 };
const webhookBase = () => (env as unknown as { TEST_WEBHOOK_URL: string }).TEST_WEBHOOK_URL;
const receivedAt = async (url: string) => (await (await fetch(url)).json()) as AlertMessage[];

describe("measure", () => {
  const window = (rows: [string, string, number][]) => windowStats(15, rows.map(([name, labels, value]) => ({ name, labels, value })));

  it("fires a ratio only above its threshold and with enough samples", () => {
    const push = (delivered: number, failed: number) =>
      measure(
        window([
          ["push_outcomes", "kind=custom,provider=fcm,result=delivered", delivered],
          ["push_outcomes", "kind=custom,provider=fcm,result=failed", failed],
        ]),
        thresholds,
      )[0]!;
    expect(push(70, 30)).toEqual({ condition: "push_failure_ratio", value: 0.3, threshold: 0.2, samples: 100, firing: true });
    expect(push(80, 20).firing).toBe(false);
    expect(push(5, 10).firing).toBe(false);
    const ice = measure(window([["ice_verdicts", "outcome=connected,path=direct,region=eu", 16], ["ice_verdicts", "outcome=never-connected,path=unknown,region=eu", 4]]), thresholds)[1]!;
    expect(ice).toEqual({ condition: "ice_failure_ratio", value: 0.2, threshold: 0.15, samples: 20, firing: true });
  });

  it("fires dead letters from the first one", () => {
    expect(measure(window([["queue_dead_letters", "kind=custom", 1]]), thresholds)[2]!.firing).toBe(true);
    expect(measure(window([]), thresholds)[2]!.firing).toBe(false);
  });
});

describe("decide", () => {
  const firing = { condition: "dead_letters" as const, value: 3, threshold: 1, samples: 3, firing: true };
  const clear = { ...firing, value: 0, samples: 0, firing: false };
  const t0 = Date.UTC(2026, 11, 3, 12, 0, 0);

  it("says firing once per window, then resolved once, then nothing", () => {
    let state: AlertState = {};
    const run = (m: typeof firing, at: number) => {
      const decisions = decide([m], state, at, 15);
      for (const { next } of decisions) state = { ...state, ...next };
      return decisions.map(({ message }) => message.alert.status);
    };
    expect(run(clear, t0)).toEqual([]);
    expect(run(firing, t0)).toEqual(["firing"]);
    expect(run(firing, t0 + 60_000)).toEqual([]);
    expect(run(firing, t0 + 14 * 60_000)).toEqual([]);
    expect(run(firing, t0 + 15 * 60_000)).toEqual(["firing"]);
    expect(run(clear, t0 + 16 * 60_000)).toEqual(["resolved"]);
    expect(run(clear, t0 + 17 * 60_000)).toEqual([]);
  });

  it("writes a Slack-compatible text", () => {
    const [decision] = decide([firing], {}, t0, 15);
    const message = decision!.message;
    expect(message.text).toBe("[FIRING] SecureConnect Edge: push messages dead-lettered is 3 over the last 15 min (alert when at least 1; 3 events)");
    expect(message.alert).toEqual({ condition: "dead_letters", status: "firing", value: 3, threshold: 1, samples: 3, windowMinutes: 15, at: "2026-12-03T12:00:00.000Z" });
  });
});

describe("the alert monitor", () => {
  /** A minute no other test writes to: within the 48 h the rollup keeps, at least a day ago. */
  const quietMinute = () => minuteOf(Date.now()) - RETENTION_MINUTES + 120 + Math.floor(Math.random() * 1000);

  async function deadLetters(count: number, minute: number): Promise<void> {
    for (let i = 0; i < count; i++) record(env, { type: "queue", action: "dead-letter", job: "deliver", kind: "custom", at: minute * 60_000 });
    const read = async () => (await readCounters(env, { until: minute, windows: [1], series: [] })).windows[0]!.find((sum) => sum.name === "queue_dead_letters")?.value ?? 0;
    expect(await eventually(read, (value) => value >= count)).toBeGreaterThanOrEqual(count);
  }

  it("posts firing, stays quiet within the window, reminds, and posts resolved", async () => {
    const minute = quietMinute();
    const monitor = `test-${crypto.randomUUID()}`;
    const hook = `${webhookBase()}/hooks/${crypto.randomUUID()}`;
    const alerting = { ...env, ALERT_WEBHOOK_URL: hook, ALERT_WINDOW_MINUTES: "15" };
    await deadLetters(2, minute);
    const at = (minutes: number) => (minute + minutes) * 60_000 + 30_000;

    const first = await runAlerts(alerting, at(0), monitor);
    expect(first!.sent.map((message) => message.alert.condition)).toEqual(["dead_letters"]);
    expect(await receivedAt(hook)).toEqual([expect.objectContaining({ text: expect.stringContaining("[FIRING]"), alert: expect.objectContaining({ condition: "dead_letters", value: 2 }) })]);

    expect((await runAlerts(alerting, at(1), monitor))!.sent).toEqual([]);
    // 14 minutes on the dead letters are still in the window, and so is the first message: quiet.
    expect((await runAlerts(alerting, at(14), monitor))!.sent).toEqual([]);
    // 15 minutes on they have left the window: resolved.
    const later = await runAlerts(alerting, at(15), monitor);
    expect(later!.sent.map((message) => message.alert.status)).toEqual(["resolved"]);
    const posted = await receivedAt(hook);
    expect(posted.map((message) => message.alert.status)).toEqual(["firing", "resolved"]);
    expect(posted[1]!.text).toMatch(/^\[RESOLVED\]/);
    expect((await runAlerts(alerting, at(16), monitor))!.sent).toEqual([]);
  });

  it("reminds once a window while the condition lasts", async () => {
    const minute = quietMinute();
    const monitor = `test-${crypto.randomUUID()}`;
    const hook = `${webhookBase()}/hooks/${crypto.randomUUID()}`;
    const alerting = { ...env, ALERT_WEBHOOK_URL: hook, ALERT_WINDOW_MINUTES: "5" };
    await deadLetters(1, minute);
    await deadLetters(1, minute + 5);
    const at = (minutes: number) => (minute + minutes) * 60_000;
    expect((await runAlerts(alerting, at(0), monitor))!.sent).toHaveLength(1);
    expect((await runAlerts(alerting, at(4), monitor))!.sent).toHaveLength(0);
    expect((await runAlerts(alerting, at(5), monitor))!.sent.map((message) => message.alert.status)).toEqual(["firing"]);
    expect((await receivedAt(hook)).map((message) => message.alert.status)).toEqual(["firing", "firing"]);
  });

  it("tries a webhook that was down again on the next run", async () => {
    const minute = quietMinute();
    const monitor = `test-${crypto.randomUUID()}`;
    const down = `${webhookBase()}/hooks/down-${crypto.randomUUID()}`;
    const up = `${webhookBase()}/hooks/${crypto.randomUUID()}`;
    await deadLetters(1, minute);
    const [toDown, toUp] = [{ ...env, ALERT_WEBHOOK_URL: down }, { ...env, ALERT_WEBHOOK_URL: up }];
    const failed = await runAlerts(toDown, minute * 60_000, monitor);
    expect(failed!.sent).toEqual([]);
    expect(failed!.undelivered.map((message) => message.alert.condition)).toEqual(["dead_letters"]);
    const retried = await runAlerts(toUp, minute * 60_000 + 60_000, monitor);
    expect(retried!.sent.map((message) => message.alert.condition)).toEqual(["dead_letters"]);
    expect(await receivedAt(up)).toHaveLength(1);
  });

  it("runs from the Worker's cron handler", async () => {
    const ctx = createExecutionContext();
    const monitors = vi.spyOn(env.ALERT_MONITOR, "idFromName");
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(monitors).toHaveBeenCalledWith("alerts");
  });
});
