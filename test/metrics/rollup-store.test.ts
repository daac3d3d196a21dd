/**
 * The rollup's storage, in a real SQLite-backed Durable Object: batches add up per minute, windows
 * and series read back what was added (and nothing outside them), a minute's rows are capped with
 * the excess folded into `overflow`, the running totals keep growing after the minutes are
 * purged, rows past 48 h are dropped on write and deleted by the alarm; and the recorder spreads
 * its flushes over the shards that {@link readCounters} adds back up. Not covered: the cost at
 * scale (docs/observability.md argues it).
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { minuteOf } from "../../src/metrics/rollup";
import { MAX_ROWS_PER_MINUTE, OVERFLOW_LABELS, RETENTION_MINUTES } from "../../src/metrics/rollup-store";
import { readCounters, record } from "../../src/metrics/recorder";
import { eventually } from "../support/eventually";

const shard = () => env.METRICS_ROLLUP.get(env.METRICS_ROLLUP.idFromName(`test-${crypto.randomUUID()}`));
const now = minuteOf(Date.now());

describe("a rollup shard", () => {
  it("sums per minute and reads windows, series and totals", async () => {
    const rollup = shard();
    const row = (minute: number, value = 1, labels = "") => ({ minute, name: "calls_placed", labels, value });
    await rollup.add([row(now), row(now, 2), row(now - 1), row(now - 30, 1, "x=y"), row(now - 90, 5)]);
    await rollup.add([row(now, 4)]);
    const answer = await rollup.read({ until: now, windows: [1, 60, 120], series: [{ minutes: 3, stepMinutes: 1, names: ["calls_placed"] }], totals: true });
    expect(answer.windows[0]).toEqual([{ name: "calls_placed", labels: "", value: 7 }]);
    expect(answer.windows[1]!.sort((a, b) => a.labels.localeCompare(b.labels))).toEqual([
      { name: "calls_placed", labels: "", value: 8 },
      { name: "calls_placed", labels: "x=y", value: 1 },
    ]);
    expect(answer.windows[2]!.find((sum) => sum.labels === "")!.value).toBe(13);
    expect(answer.series[0]!.sort((a, b) => a.slot - b.slot)).toEqual([
      { slot: now - 1, name: "calls_placed", value: 1 },
      { slot: now, name: "calls_placed", value: 7 },
    ]);
    expect(answer.totals.find((sum) => sum.labels === "")!.value).toBe(13);
  });

  it("caps a minute's rows, folding the rest into overflow", async () => {
    const rollup = shard();
    const rows = Array.from({ length: MAX_ROWS_PER_MINUTE + 50 }, (_, i) => ({ minute: now, name: "push_problems", labels: `reason=r${i}`, value: 1 }));
    await rollup.add(rows);
    const [sums] = (await rollup.read({ until: now, windows: [1], series: [] })).windows;
    expect(sums).toHaveLength(MAX_ROWS_PER_MINUTE + 1);
    expect(sums!.find((sum) => sum.labels === OVERFLOW_LABELS)!.value).toBe(50);
    expect(sums!.reduce((total, sum) => total + sum.value, 0)).toBe(MAX_ROWS_PER_MINUTE + 50);
  });

  it("drops what is older than the retention, and its alarm deletes rows as they age out", async () => {
    const rollup = shard();
    await rollup.add([
      { minute: now - RETENTION_MINUTES - 5, name: "calls_placed", labels: "", value: 1 },
      { minute: now - 10, name: "calls_placed", labels: "", value: 1 },
    ]);
    const all = { until: now, windows: [RETENTION_MINUTES + 60], series: [], totals: true };
    expect((await rollup.read(all)).windows[0]).toEqual([{ name: "calls_placed", labels: "", value: 1 }]);
    // A row that has aged past the retention since it was written (put there directly).
    await runInDurableObject(rollup, (_instance, state) => {
      state.storage.sql.exec("INSERT INTO counters VALUES (?, 'calls_placed', '', 7)", now - RETENTION_MINUTES - 1);
    });
    expect(await runDurableObjectAlarm(rollup)).toBe(true);
    expect((await rollup.read(all)).windows[0]).toEqual([{ name: "calls_placed", labels: "", value: 1 }]);
    // The other row is still within 48 h: kept, and the alarm is set again for it.
    expect(await runDurableObjectAlarm(rollup)).toBe(true);
    expect((await rollup.read(all)).totals).toEqual([{ name: "calls_placed", labels: "", value: 2 }]);
  });
});

describe("record and readCounters", () => {
  it("flush events to the shards, which read back as one", async () => {
    // A minute of its own (two days less an hour ago), so no other test's events are in it.
    const at = (minuteOf(Date.now()) - RETENTION_MINUTES + 60 + Math.floor(Math.random() * 600)) * 60_000;
    const region = `t${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 25; i++) record(env, { type: "turn-credential", region, userId: `u${i}`, at });
    const read = async () => (await readCounters(env, { until: minuteOf(at), windows: [1], series: [] })).windows[0]!.find((sum) => sum.labels === `region=${region}`)?.value;
    expect(await eventually(read, (value) => value === 25)).toBe(25);
  });
});
