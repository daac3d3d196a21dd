/**
 * A room's outboxes (src/calls/outbox.ts) on a real Durable Object's key-value storage: entries
 * in the order they were added, across a restart of the object; refusals retried with back-off;
 * `clear` dropping what must never be sent; and a room of the previous version, whose outboxes
 * were SQL tables, handing what they held to the new outboxes. The room's use of them (what it
 * writes, when the alarm retries) is test/calls/room.test.ts and test/push/delivery.test.ts.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { adoptLegacyOutboxes, Outbox, OUTBOX_GRACE_MS } from "../../src/calls/outbox";
import { randomId } from "../../src/platform/ids";

/** A fresh object's storage: a call room reached with an id no call has, so it stays out of the way. */
const inFreshObject = <T>(run: (state: DurableObjectState) => T | Promise<T>) =>
  runInDurableObject(env.CALL_ROOM.get(env.CALL_ROOM.idFromName(randomId(16))), (_room, state) => run(state));

const drained = async (outbox: Outbox<string>) => {
  const delivered: string[] = [];
  await outbox.flush(async (payload) => void delivered.push(payload), () => {}, {});
  return delivered;
};

describe("Outbox", () => {
  it("delivers entries oldest first, numbering on after a restart, and removes each once delivered", async () => {
    const result = await inFreshObject(async (state) => {
      const first = new Outbox<string>(state.storage.kv, "notices", "notify");
      for (const payload of ["a", "b", "c"]) first.add(payload, 1_000);
      // The object restarted: a new instance over the same storage.
      const second = new Outbox<string>(state.storage.kv, "notices", "notify");
      second.add("d", 2_000);
      const keys = [...state.storage.kv.list({ prefix: "outbox/" })].map(([key]) => key);
      return { keys, due: second.nextDue(), delivered: await drained(second), left: [...state.storage.kv.list({ prefix: "outbox/" })] };
    });
    expect(result.keys).toEqual(["outbox/notices/0000000001", "outbox/notices/0000000002", "outbox/notices/0000000003", "outbox/notices/0000000004"]);
    expect(result.due).toBe(1_000 + OUTBOX_GRACE_MS);
    expect(result.delivered).toEqual(["a", "b", "c", "d"]);
    expect(result.left).toEqual([]);
  });

  it("keeps a refused entry and everything after it, retried after a back-off; two outboxes never mix", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const result = await inFreshObject(async (state) => {
      const notices = new Outbox<string>(state.storage.kv, "notices", "notify");
      const lines = new Outbox<string>(state.storage.kv, "lines", "line_update");
      const before = Date.now();
      notices.add("n1", before);
      notices.add("n2", before);
      lines.add("l1", before);
      const retries: (number | undefined)[] = [];
      await notices.flush(
        async () => {
          throw new Error("queue unavailable");
        },
        (at) => void retries.push(at),
        {},
      );
      return { retries, before, due: notices.nextDue(), lines: await drained(lines), notices: await drained(notices) };
    });
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])).event)).toEqual(["notify_failed"]);
    errors.mockRestore();
    expect(result.retries).toHaveLength(1);
    // The refused entry is due after its back-off (1 s), sooner than the next one's grace (5 s).
    expect(result.retries[0]).toBeGreaterThanOrEqual(result.before + 1_000);
    expect(result.retries[0]).toBeLessThan(result.before + OUTBOX_GRACE_MS);
    expect(result.due).toBe(result.retries[0]);
    expect(result.lines).toEqual(["l1"]);
    expect(result.notices).toEqual(["n1", "n2"]);
  });

  it("clear drops every entry of its own outbox only", async () => {
    const result = await inFreshObject((state) => {
      const notices = new Outbox<string>(state.storage.kv, "notices", "notify");
      const lines = new Outbox<string>(state.storage.kv, "lines", "line_update");
      notices.add("incoming", 0);
      lines.add("ringing", 0);
      notices.clear();
      return { notices: notices.nextDue(), keys: [...state.storage.kv.list({ prefix: "outbox/" })].map(([key]) => key) };
    });
    expect(result).toEqual({ notices: undefined, keys: ["outbox/lines/0000000001"] });
  });

  it("takes over a previous version's outbox tables in order, with their attempts, and drops the tables", async () => {
    const result = await inFreshObject(async (state) => {
      const sql = state.storage.sql;
      // The tables as the previous version created them with every call.
      sql.exec("CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, notices TEXT NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL)");
      sql.exec("CREATE TABLE line_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL)");
      sql.exec("INSERT INTO outbox (notices, attempts, due) VALUES (?, 2, 7000), (?, 0, 9000)", JSON.stringify(["incoming"]), JSON.stringify(["ended"]));
      sql.exec("INSERT INTO line_outbox (payload, attempts, due) VALUES (?, 0, 8000)", JSON.stringify({ state: "ringing" }));
      const notices = new Outbox<unknown>(state.storage.kv, "notices", "notify");
      const lines = new Outbox<unknown>(state.storage.kv, "lines", "line_update");
      adoptLegacyOutboxes(sql, { notices, lines });
      const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('outbox', 'line_outbox')").toArray();
      const entries = [...state.storage.kv.list({ prefix: "outbox/" })];
      // Nothing left to adopt: a second pass reads the schema and changes nothing.
      adoptLegacyOutboxes(sql, { notices, lines });
      return { tables, entries, again: [...state.storage.kv.list({ prefix: "outbox/" })].length, due: { notices: notices.nextDue(), lines: lines.nextDue() } };
    });
    expect(result.tables).toEqual([]);
    expect(result.entries).toEqual([
      ["outbox/lines/0000000001", { seq: 1, payload: { state: "ringing" }, attempts: 0, due: 8000 }],
      ["outbox/notices/0000000001", { seq: 1, payload: ["incoming"], attempts: 2, due: 7000 }],
      ["outbox/notices/0000000002", { seq: 2, payload: ["ended"], attempts: 0, due: 9000 }],
    ]);
    expect(result.again).toBe(3);
    expect(result.due).toEqual({ notices: 7000, lines: 8000 });
  });
});
