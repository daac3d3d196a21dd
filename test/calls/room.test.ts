/**
 * Calls end to end inside workerd: the REST API of section 4.1 and the signaling protocol of
 * section 4.2 over real WebSockets to the real Worker and CallRoom Durable Object (SQLite
 * storage, Hibernation API, alarms). Notifications are asserted as the decisions the room hands
 * to its Notifier (recorded by the test Worker's room, test/support/worker.ts), not as log text.
 * Not covered here: real network clients (test/node/signaling.test.ts does that).
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { possibleNotices } from "../../src/calls/machine";
import { randomId } from "../../src/platform/ids";
import { UPGRADE_BURST } from "../../src/calls/room";
import { RATE_LIMITS } from "../../src/platform/request-limits";
import { holdCallLimit, type CallRoom } from "../support/worker";
import { api, connect, placeCall, upgrade, user } from "../support/calls";

const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const candidate = (n: number) => ({ candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 5${n}000 typ host`, sdpMid: "0", sdpMLineIndex: 0 });
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;
const stubOf = (callId: string) => env.CALL_ROOM.get(env.CALL_ROOM.idFromName(callId));

const newCallId = () => randomId(16);

/** A call between two new users with both connected and welcomed; returns their connection ids. */
async function connectedPair() {
  const [alice, bob] = [user("alice"), user("bob")];
  const { callId } = await placeCall(alice, [bob]);
  const a = await connect(callId, alice);
  const b = await connect(callId, bob);
  const aliceId = ((await a.next("welcome")).you as { connectionId: string }).connectionId;
  const bobId = ((await b.next("welcome")).you as { connectionId: string }).connectionId;
  await a.next("participant-joined");
  return { callId, alice, bob, a, b, aliceId, bobId };
}

/** The notices a room's current instance has handed to its notifier. */
const noticesOf = (stub: ReturnType<typeof stubOf>) => runInDurableObject(stub, (room: CallRoom) => [...room.recorder.notices]);

/** A call created straight on its room. */
async function createdCall(caller: string, callees: string[]) {
  const callId = newCallId();
  const stub = stubOf(callId);
  const created = await stub.create({ callId, caller, callees, media: "audio" });
  expect(created.ok).toBe(true);
  return { callId, stub };
}

describe("POST /v1/calls", () => {
  it("creates a ringing call with an unguessable id, its ICE servers and socket path", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const response = await api(alice, "POST", "/v1/calls", { callees: [bob], media: "video", metadata: { displayName: "Alice" } });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, unknown> & { callId: string; iceServers: { username?: string }[] };
    expect(body.callId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(response.headers.get("location")).toBe(`/v1/calls/${body.callId}`);
    expect(body).toMatchObject({ state: "ringing", wsPath: `/v1/calls/${body.callId}/ws`, region: "eu", ttl: 86_400 });
    expect(body.iceServers.find((server) => server.username)?.username).toMatch(new RegExp(`^\\d+:${alice}$`));
    expect(Date.parse(body.ringsUntil as string) - Date.now()).toBeGreaterThan(40_000);

    const view = await api(bob, "GET", `/v1/calls/${body.callId}`);
    expect(await view.json()).toMatchObject({ callId: body.callId, state: "ringing", caller: alice, callees: [bob], media: "video", metadata: { displayName: "Alice" } });
  });

  it.each([
    ["no callees", { callees: [], media: "audio" }],
    ["a bad media", { callees: ["bob"], media: "hologram" }],
    ["an unknown field", { callees: ["bob"], media: "audio", priority: 1 }],
    ["a callee that is not a user id", { callees: ["bob smith"], media: "audio" }],
    ["too many callees", { callees: Array.from({ length: 33 }, (_, i) => `u${i}`), media: "audio" }],
    ["duplicate callees", { callees: ["bob", "bob"], media: "audio" }],
    ["the caller as callee", { callees: ["caller-self"], media: "audio" }],
    ["oversized metadata", { callees: ["bob"], media: "audio", metadata: { blob: "x".repeat(2000) } }],
    ["nested metadata", { callees: ["bob"], media: "audio", metadata: { a: { b: 1 } } }],
    // A lone surrogate has no UTF-8: as an id it would name the same store as "v\ufffd".
    ["a callee that is not well-formed Unicode", { callees: ["v\ud800"], media: "audio" }],
    ["metadata that is not well-formed Unicode", { callees: ["bob"], media: "audio", metadata: { name: "v\ud800" } }],
    ["invalid JSON", "{callees:"],
  ])("answers 400 invalid_request to %s", async (_name, body) => {
    const response = await api("caller-self", "POST", "/v1/calls", body);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe("invalid_request");
  });
});

describe("POST /v1/calls: what its pushes can carry", () => {
  it("measures metadata in bytes of UTF-8: 1,006 euro signs are 3,036 bytes, over the 1,024 allowed", async () => {
    const response = await api(user("alice"), "POST", "/v1/calls", { callees: [user("bob")], media: "audio", metadata: { name: "€".repeat(1006) } });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toContain("at most 1024 bytes of UTF-8");
    const fits = await api(user("alice"), "POST", "/v1/calls", { callees: [user("bob")], media: "audio", metadata: { name: "€".repeat(330) } });
    expect(fits.status).toBe(201);
  });

  it("takes the largest call the limits allow: every push it may cause fits its provider (FCM's call-answered is the largest, 3,940 of 4,096 bytes)", async () => {
    // Quotes are legal in ids and metadata and cost double in JSON, and double again inside a push's data.
    // 200 characters each, the longest ids there are (the last one tells them apart).
    const caller = '"'.repeat(199) + "c";
    const answerer = '"'.repeat(199) + "a";
    const metadata = { a: '"'.repeat(508) }; // 1,024 bytes as JSON
    const response = await api(caller, "POST", "/v1/calls", { callees: [user("bob"), answerer], media: "video", metadata });
    expect(response.status).toBe(201);
  });

  it("refuses, when it is created, a call one of whose pushes its notifier could not carry: nothing rings, nothing is stored", async () => {
    const callId = newCallId();
    const stub = stubOf(callId);
    await runInDurableObject(stub, (room: CallRoom) => room.recorder.refuseWith("its missed-call push to FCM would be 4200 bytes, over the limit of 4096"));
    const created = await stub.create({ callId, caller: user("alice"), callees: [user("bob")], media: "audio" });
    expect(created).toEqual({ ok: false, code: "invalid_request", message: "the call's metadata and ids are too large for push: its missed-call push to FCM would be 4200 bytes, over the limit of 4096" });
    expect(await runInDurableObject(stub, (room: CallRoom, state) => ({ notices: room.recorder.notices.length, keys: [...state.storage.kv.list()].length }))).toEqual({ notices: 0, keys: 0 });
  });

  it("knows every notice a call may cause, each at its largest", () => {
    const call = { callId: "C", caller: "a", callees: ["bob", `"${"x".repeat(10)}`, "carol-long"], media: "audio" as const, state: "ringing" as const, createdAt: 0, ringDeadline: 45_000, declined: [] };
    const notices = possibleNotices(call);
    expect(notices.map(({ kind, answeredBy, reason }) => ({ kind, answeredBy, reason }))).toEqual([
      { kind: "incoming-call", answeredBy: undefined, reason: undefined },
      { kind: "call-answered", answeredBy: `"${"x".repeat(10)}`, reason: undefined },
      { kind: "call-ended", answeredBy: undefined, reason: "cancelled" },
      { kind: "missed-call", answeredBy: undefined, reason: undefined },
    ]);
  });
});

it("answers 413 payload_too_large to a body over 64 KiB", async () => {
  const response = await api(user("alice"), "POST", "/v1/calls", { callees: ["bob"], media: "audio", padding: "x".repeat(70_000) });
  expect(response.status).toBe(413);
  expect((await errorOf(response)).code).toBe("payload_too_large");
});

describe("call REST lifecycle", () => {
  it("ringing → accept → end, with 403 for strangers and 409 for transitions the state forbids", async () => {
    const [alice, bob, mallory] = [user("alice"), user("bob"), user("mallory")];
    const { callId } = await placeCall(alice, [bob]);

    expect((await api(mallory, "GET", `/v1/calls/${callId}`)).status).toBe(403);
    expect((await api(mallory, "POST", `/v1/calls/${callId}/end`)).status).toBe(403);
    expect(await errorOf(await api(alice, "POST", `/v1/calls/${callId}/accept`))).toEqual({ code: "forbidden", message: "only a callee may accept" });

    const accepted = await api(bob, "POST", `/v1/calls/${callId}/accept`);
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ state: "active", answeredBy: bob });
    const again = await api(bob, "POST", `/v1/calls/${callId}/accept`);
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe("conflict");
    expect((await api(bob, "POST", `/v1/calls/${callId}/decline`)).status).toBe(409);

    const ended = await api(alice, "POST", `/v1/calls/${callId}/end`);
    expect(await ended.json()).toMatchObject({ state: "ended", endReason: "hangup" });
    expect((await api(bob, "POST", `/v1/calls/${callId}/end`)).status).toBe(409);
    const view = (await (await api(bob, "GET", `/v1/calls/${callId}`)).json()) as Record<string, string>;
    expect(Date.parse(view.endedAt!)).toBeGreaterThanOrEqual(Date.parse(view.answeredAt!));
  });

  it.each([
    ["callee declines", "bob", "decline", "declined"],
    ["caller cancels", "alice", "end", "cancelled"],
  ])("%s → ended %s", async (_name, who, action, reason) => {
    const names = { alice: user("alice"), bob: user("bob") };
    const { callId } = await placeCall(names.alice, [names.bob]);
    const response = await api(names[who as "alice" | "bob"], "POST", `/v1/calls/${callId}/${action}`);
    expect(await response.json()).toMatchObject({ state: "ended", endReason: reason });
  });

  it("answers 404 for unknown and malformed call ids", async () => {
    for (const callId of [newCallId(), "not-a-call", "ice-servers-but-longer-than-that"]) {
      const response = await api(user("alice"), "GET", `/v1/calls/${callId}`);
      expect(response.status).toBe(404);
      expect((await errorOf(response)).code).toBe("not_found");
    }
    expect((await api(user("alice"), "POST", `/v1/calls/${newCallId()}/accept`)).status).toBe(404);
  });

  it("leaves an unknown call id's object empty: no tables, no keys", async () => {
    const callId = newCallId();
    expect((await api(user("alice"), "GET", `/v1/calls/${callId}`)).status).toBe(404);
    expect((await upgrade(callId, user("alice"))).status).toBe(404);
    const contents = await runInDurableObject(stubOf(callId), (_room, state) => ({
      tables: state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'").toArray(),
      keys: [...state.storage.kv.list()],
    }));
    expect(contents).toEqual({ tables: [], keys: [] });
    // The same query sees a real call's tables: none at first (the call and its outboxes are keys,
    // so creating it writes no schema), the frame tables once a frame is kept for someone who has
    // not connected.
    const alice = user("alice");
    const { callId: realCall, stub } = await createdCall(alice, [user("bob")]);
    const tableNames = async () =>
      (await runInDurableObject(stub, (_room, state) => state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'").toArray()))
        .map((table) => table.name)
        .sort();
    expect(await tableNames()).toEqual([]);
    expect(await runInDurableObject(stub, (_room, state) => state.storage.kv.get("call"))).toMatchObject({ callId: realCall, state: "ringing" });
    const caller = await connect(realCall, alice);
    await caller.next("welcome");
    caller.send({ type: "offer", sdp: SDP });
    await vi.waitFor(async () => expect(await tableNames()).toEqual(["held", "pending"]));
    caller.close();
  });
});

describe("notifications decided", () => {
  it("incoming-call on create, call-answered on accept, call-ended on hangup", async () => {
    const [alice, bob, carol] = [user("alice"), user("bob"), user("carol")];
    const { callId, stub } = await createdCall(alice, [bob, carol]);
    await api(carol, "POST", `/v1/calls/${callId}/accept`);
    await api(alice, "POST", `/v1/calls/${callId}/end`);
    // The notifier hears of each decision in the background, after the participants' lines.
    await vi.waitFor(async () =>
      expect((await noticesOf(stub)).map(({ kind, recipients, answeredBy, reason }) => ({ kind, recipients, answeredBy, reason }))).toEqual([
        { kind: "incoming-call", recipients: [bob, carol], answeredBy: undefined, reason: undefined },
        { kind: "call-answered", recipients: [bob, carol], answeredBy: carol, reason: undefined },
        { kind: "call-ended", recipients: [bob, carol], answeredBy: undefined, reason: "hangup" },
      ]),
    );
    expect((await noticesOf(stub)).every((notice) => notice.callId === callId && notice.caller === alice)).toBe(true);
  });

  it("ring timeout after eviction: missed exactly once, to callees and connected sockets; a second alarm run does nothing", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId, stub } = await createdCall(alice, [bob]);
    const caller = await connect(callId, alice);
    await caller.next("welcome");

    await evictDurableObject(stub, { webSockets: "hibernate" });
    await runInDurableObject(stub, (_room, state) => {
      // An alarm that runs before the deadline must change nothing...
      expect(state.storage.kv.get<{ state: string }>("call")!.state).toBe("ringing");
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await noticesOf(stub)).toEqual([]);
    // ...so move the deadline into the past rather than wait 45 s, and let the re-armed alarm run.
    await runInDurableObject(stub, (_room, state) => {
      const call = state.storage.kv.get<{ ringDeadline: number }>("call")!;
      state.storage.kv.put("call", { ...call, ringDeadline: Date.now() - 1 });
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await caller.next("state")).toEqual({ type: "state", state: "ended", reason: "missed" });
    expect((await caller.closure()).code).toBe(1000);
    await vi.waitFor(async () => expect((await noticesOf(stub)).map(({ kind, recipients }) => ({ kind, recipients }))).toEqual([{ kind: "missed-call", recipients: [bob] }]));

    await runDurableObjectAlarm(stub);
    expect(await noticesOf(stub)).toHaveLength(1);
    expect(await (await api(bob, "GET", `/v1/calls/${callId}`)).json()).toMatchObject({ state: "ended", endReason: "missed" });
  });

  it("decides an alarm on the call as it is after the alarm's flushes: an accept during them is not overwritten as missed", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const callId = newCallId();
    const stub = stubOf(callId);
    let release: () => void = () => {};
    await runInDurableObject(stub, (room: CallRoom) => void (release = room.recorder.hold()));
    expect((await stub.create({ callId, caller: alice, callees: [bob], media: "audio" })).ok).toBe(true);
    // The ring deadline has passed, and the incoming-call notice is still on its way to the queue.
    await runInDurableObject(stub, (_room, state) => {
      const call = state.storage.kv.get<{ ringDeadline: number }>("call")!;
      state.storage.kv.put("call", { ...call, ringDeadline: Date.now() - 1 });
    });
    const alarm = runDurableObjectAlarm(stub);
    // While the alarm waits for the flush, bob answers.
    expect(await (await api(bob, "POST", `/v1/calls/${callId}/accept`)).json()).toMatchObject({ state: "active" });
    await runInDurableObject(stub, () => release());
    await alarm;
    expect(await (await api(bob, "GET", `/v1/calls/${callId}`)).json()).toMatchObject({ state: "active", answeredBy: bob });
    await vi.waitFor(async () => expect((await noticesOf(stub)).map(({ kind }) => kind)).toEqual(["incoming-call", "call-answered"]));
  });

  it("keeps notices the notifier refused and retries them from the alarm, in order, each accepted once", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const callId = newCallId();
    const stub = stubOf(callId);
    await runInDurableObject(stub, (room: CallRoom) => room.recorder.failNext(2));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await stub.create({ callId, caller: alice, callees: [bob], media: "audio" })).ok).toBe(true);
    // The create was answered; the room's own first send (in the background) failed.
    await vi.waitFor(async () => expect(await runInDurableObject(stub, (room: CallRoom) => room.recorder.attempts)).toBe(1));
    // The hang-up's notice queues behind the refused one; the room's try for both fails again.
    await api(alice, "POST", `/v1/calls/${callId}/end`);
    await vi.waitFor(async () => expect(await runInDurableObject(stub, (room: CallRoom) => room.recorder.attempts)).toBe(2));
    expect(await noticesOf(stub)).toEqual([]);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await noticesOf(stub)).map(({ kind }) => kind)).toEqual(["incoming-call", "call-ended"]);
    await runDurableObjectAlarm(stub);
    expect(await noticesOf(stub)).toHaveLength(2);
    expect(await runInDurableObject(stub, (room: CallRoom) => room.recorder.attempts)).toBe(4);
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])).event)).toEqual(["notify_failed", "notify_failed"]);
    errors.mockRestore();
  });

  it("delivers what a room of the previous version left in its outbox table, once restarted", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const callId = newCallId();
    const stub = stubOf(callId);
    await runInDurableObject(stub, (room: CallRoom) => room.recorder.failNext(1));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await stub.create({ callId, caller: alice, callees: [bob], media: "audio" })).ok).toBe(true);
    await vi.waitFor(async () => expect(await runInDurableObject(stub, (room: CallRoom) => room.recorder.attempts)).toBe(1));
    // Make it a room of the previous version: the refused notice in its SQL table, not in a key.
    await runInDurableObject(stub, (_room, state) => {
      const entries = [...state.storage.kv.list<{ payload: unknown; attempts: number; due: number }>({ prefix: "outbox/notices/" })];
      expect(entries).toHaveLength(1);
      state.storage.sql.exec("CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, notices TEXT NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL)");
      for (const [key, entry] of entries) {
        state.storage.sql.exec("INSERT INTO outbox (notices, attempts, due) VALUES (?, ?, ?)", JSON.stringify(entry.payload), entry.attempts, entry.due);
        state.storage.kv.delete(key);
      }
    });
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await noticesOf(stub)).map(({ kind, recipients }) => ({ kind, recipients }))).toEqual([{ kind: "incoming-call", recipients: [bob] }]);
    const left = await runInDurableObject(stub, (_room, state) => ({
      tables: state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").toArray(),
      entries: [...state.storage.kv.list({ prefix: "outbox/" })],
    }));
    expect(left).toEqual({ tables: [], entries: [] });
    errors.mockRestore();
  });

  it("moves the alarm to the ring deadline once its outboxes are empty: it does not wake at the end of their grace", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { stub } = await createdCall(alice, [bob]);
    const state = () =>
      runInDurableObject(stub, async (_room, storage) => ({
        alarm: await storage.storage.getAlarm(),
        ringDeadline: storage.storage.kv.get<{ ringDeadline: number }>("call")!.ringDeadline,
        waiting: [...storage.storage.kv.list({ prefix: "outbox/" })].length,
      }));
    await vi.waitFor(async () => {
      const { alarm, ringDeadline, waiting } = await state();
      expect(waiting).toBe(0);
      expect(alarm).toBe(ringDeadline);
    });
  });

  /**
   * A create cut short while the limiter is asked (the object restarts: a deploy, say): the room
   * as it stood then, with an alarm to run in a new instance. The create is let finish here,
   * refused (so this instance sends nothing either), and the storage put back as it stood.
   */
  async function cutShort(admission: "ring-first" | "ask-first", caller: string, callee: string) {
    const callId = newCallId();
    const stub = stubOf(callId);
    const release = holdCallLimit(caller);
    const creating = stub.create({ callId, caller, callees: [callee], media: "audio" }, admission);
    await vi.waitFor(async () => expect(await runInDurableObject(stub, (_room, state) => state.storage.kv.get("unadmitted"))).toBe(admission));
    const stood = await runInDurableObject(stub, async (_room, state) => ({ keys: [...state.storage.kv.list()], alarm: await state.storage.getAlarm() }));
    expect(stood.alarm).not.toBeNull();
    for (let n = 0; n < RATE_LIMITS.calls.limit; n++) await env.CALLS_RATE_LIMIT.limit({ key: caller });
    release();
    expect(await creating).toMatchObject({ ok: false, code: "rate_limited" });
    expect(await runInDurableObject(stub, (room: CallRoom) => room.recorder.notices)).toEqual([]);
    await runInDurableObject(stub, async (_room, state) => {
      for (const [key] of state.storage.kv.list()) state.storage.kv.delete(key);
      for (const [key, value] of stood.keys) state.storage.kv.put(key, value);
      await state.storage.setAlarm(stood.alarm!);
    });
    await evictDurableObject(stub);
    return { callId, stub };
  }

  it("withdraws a call rung first whose create was cut short before the limiter answered: its alarm ends it unpushed", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId, stub } = await cutShort("ring-first", alice, bob);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(
      await runInDurableObject(stub, (room: CallRoom, state) => ({
        call: state.storage.kv.get("call"),
        pending: state.storage.kv.get("unadmitted"),
        sent: room.recorder.notices,
        waiting: [...state.storage.kv.list({ prefix: "outbox/notices/" })],
      })),
    ).toMatchObject({ call: { state: "ended", endReason: "cancelled" }, pending: undefined, sent: [], waiting: [] });
    expect(await (await api(bob, "GET", `/v1/calls/${callId}`)).json()).toMatchObject({ state: "ended", endReason: "cancelled" });
  });

  it("deletes a call asked first whose create was cut short before the limiter answered: nobody ever hears of it", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId, stub } = await cutShort("ask-first", alice, bob);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (room: CallRoom, state) => ({ stored: [...state.storage.kv.list()], sent: room.recorder.notices, told: room.lines.attempts }))).toEqual({
      stored: [],
      sent: [],
      told: 0,
    });
    expect((await api(bob, "GET", `/v1/calls/${callId}`)).status).toBe(404);
    expect(await (await api(bob, "GET", "/v1/calls?state=ringing")).json()).toEqual({ calls: [] });
  });

  it("an alarm that comes while the limiter is asked waits for its answer, then acts on the call as admitted", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const callId = newCallId();
    const stub = stubOf(callId);
    const release = holdCallLimit(alice);
    const creating = stub.create({ callId, caller: alice, callees: [bob], media: "audio" }, "ring-first");
    await vi.waitFor(async () => expect(await runInDurableObject(stub, (_room, state) => state.storage.kv.get("unadmitted"))).toBe("ring-first"));
    const alarm = runDurableObjectAlarm(stub);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    expect(await alarm).toBe(true);
    expect((await creating).ok).toBe(true);
    // Not withdrawn as interrupted: still ringing, its push gone.
    await vi.waitFor(async () =>
      expect(await runInDurableObject(stub, (room: CallRoom, state) => ({ state: state.storage.kv.get<{ state: string }>("call")?.state, sent: room.recorder.notices.map((n) => n.kind) }))).toEqual({
        state: "ringing",
        sent: ["incoming-call"],
      }),
    );
  });

  it("a limiter that never answers lets the call through after LIMITER_TIMEOUT_MS: it rings and is pushed", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const callId = newCallId();
    const stub = stubOf(callId);
    const release = holdCallLimit(alice);
    try {
      expect(await stub.create({ callId, caller: alice, callees: [bob], media: "audio" }, "ring-first")).toMatchObject({ ok: true, value: { state: "ringing" } });
      await vi.waitFor(async () => expect(await runInDurableObject(stub, (room: CallRoom) => room.recorder.notices.map((n) => n.kind))).toEqual(["incoming-call"]));
    } finally {
      release();
    }
  }, 20_000);

  it("an ended call's room is purged after the retention period", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId, stub } = await createdCall(alice, [bob]);
    await api(alice, "POST", `/v1/calls/${callId}/end`);
    // Move the end into the past instead of waiting a day.
    await runInDurableObject(stub, (_room, state) => {
      const call = state.storage.kv.get<{ endedAt: number }>("call")!;
      state.storage.kv.put("call", { ...call, endedAt: Date.now() - 86_401_000 });
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await api(alice, "GET", `/v1/calls/${callId}`)).status).toBe(404);
    expect(await runInDurableObject(stub, (_room, state) => [...state.storage.kv.list()].length)).toBe(0);
  });
});

describe("signaling", () => {
  it("relays a full call between two participants, queueing the caller's offer until the callee joins", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);

    const caller = await connect(callId, alice);
    const welcome = await caller.next("welcome");
    expect(welcome).toMatchObject({ callId, state: "ringing", participants: [], you: { userId: alice } });
    const me = welcome.you as { userId: string; connectionId: string };

    // Perfect negotiation with a slow callee: offer and candidates before the callee is there.
    caller.send({ type: "offer", sdp: SDP });
    for (const n of [1, 2, 3]) caller.send({ type: "candidate", candidate: candidate(n) });

    const callee = await connect(callId, bob, { subprotocol: true });
    expect(callee.protocol).toBe("signal.v1");
    const calleeWelcome = await callee.next("welcome");
    expect(calleeWelcome).toMatchObject({ state: "ringing", participants: [me] });
    expect(await callee.next("offer")).toEqual({ type: "offer", sdp: SDP, from: me });
    for (const n of [1, 2, 3]) expect(await callee.next("candidate")).toEqual({ type: "candidate", candidate: candidate(n), from: me });
    const calleeId = (calleeWelcome.you as { connectionId: string }).connectionId;
    expect(await caller.next("participant-joined")).toEqual({ type: "participant-joined", participant: { userId: bob, connectionId: calleeId } });

    callee.send({ type: "accept" });
    expect(await callee.next("state")).toEqual({ type: "state", state: "active", answeredBy: bob });
    expect(await caller.next("state")).toEqual({ type: "state", state: "active", answeredBy: bob });

    callee.send({ type: "answer", sdp: SDP, to: me.connectionId });
    callee.send({ type: "candidate", candidate: null });
    expect(await caller.next("answer")).toEqual({ type: "answer", sdp: SDP, from: { userId: bob, connectionId: calleeId } });
    expect(await caller.next("candidate")).toEqual({ type: "candidate", candidate: null, from: { userId: bob, connectionId: calleeId } });

    caller.send({ type: "hangup" });
    for (const client of [caller, callee]) {
      expect(await client.next("state")).toEqual({ type: "state", state: "ended", reason: "hangup" });
      expect(await client.closure()).toEqual({ code: 1000, reason: "call ended" });
    }
    expect((await upgrade(callId, bob)).status).toBe(409);
  });

  it("addresses one connection with `to`, everyone else without it (three participants)", async () => {
    const [alice, bob, carol] = [user("alice"), user("bob"), user("carol")];
    const { callId } = await placeCall(alice, [bob, carol]);
    const a = await connect(callId, alice);
    const b = await connect(callId, bob);
    const c = await connect(callId, carol);
    const ids = await Promise.all([a, b, c].map(async (client) => ((await client.next("welcome")).you as { connectionId: string }).connectionId));
    await a.next("participant-joined");
    await a.next("participant-joined");
    await b.next("participant-joined");

    a.send({ type: "message", data: { hello: "all" } });
    expect(await b.next("message")).toMatchObject({ data: { hello: "all" }, from: { userId: alice } });
    expect(await c.next("message")).toMatchObject({ data: { hello: "all" }, from: { userId: alice } });

    a.send({ type: "message", data: "just carol", to: ids[2] });
    b.send({ type: "message", data: "to everyone" });
    expect(await c.next("message")).toMatchObject({ data: "just carol" });
    expect(await c.next("message")).toMatchObject({ data: "to everyone", from: { userId: bob } });
    expect(await a.next("message")).toMatchObject({ data: "to everyone" });
    expect(b.frames).toEqual([]);

    a.send({ type: "offer", sdp: SDP, to: "AAAAAAAAAAAAAAAA" });
    expect(await a.next("error")).toMatchObject({ code: "unknown_recipient" });
    for (const client of [a, b, c]) client.close();
  });

  it("delivers 500 frames from one sender in the order sent", async () => {
    const { a, b } = await connectedPair();
    // 500 frames, paced under the rate limit (50/s, burst 50) so none is dropped.
    for (let n = 0; n < 500; n++) {
      a.send({ type: "message", data: n });
      if (n % 40 === 39) await new Promise((resolve) => setTimeout(resolve, 850));
    }
    const received: unknown[] = [];
    for (let n = 0; n < 500; n++) received.push((await b.next("message", 5000)).data);
    expect(received).toEqual(Array.from({ length: 500 }, (_, n) => n));
    a.close();
    b.close();
  }, 30_000);

  it("stamps from itself: a forged from is ignored", async () => {
    const { alice, bob, a, b, aliceId } = await connectedPair();
    a.send({ type: "offer", sdp: SDP, from: { userId: bob, connectionId: "BBBBBBBBBBBBBBBB" } });
    expect(await b.next("offer")).toEqual({ type: "offer", sdp: SDP, from: { userId: alice, connectionId: aliceId } });
    a.close();
    b.close();
  });

  it("answers every kind of bad frame with an error frame and keeps the room working", async () => {
    const { a, b } = await connectedPair();
    const bad = [
      ["not json", "frame is not valid JSON"],
      ["[1,2]", "frame must be a JSON object"],
      ['{"sdp":"x"}', "frame has no type"],
      ['{"type":"teleport"}', 'unknown frame type "teleport"'],
      ['{"type":"offer"}', "sdp"],
      ['{"type":"answer","sdp":7}', "sdp"],
      ['{"type":"candidate","candidate":42}', "candidate"],
      ['{"type":"offer","sdp":"v=0","to":17}', "to"],
      ['{"type":"accept","extra":true}', "extra"],
    ];
    for (const [frame, message] of bad) {
      a.send(frame);
      const error = await a.next("error");
      expect(error.code).toBe("invalid_frame");
      expect(error.message).toContain(message);
    }
    a.ws.send(new Uint8Array([1, 2, 3]));
    expect(await a.next("error")).toMatchObject({ code: "invalid_frame", message: expect.stringContaining("binary") });
    a.send({ type: "accept" });
    expect(await a.next("error")).toMatchObject({ code: "forbidden", message: "only a callee may accept" });

    a.send({ type: "message", data: "still here" });
    expect(await b.next("message")).toMatchObject({ data: "still here" });
    expect(b.frames).toEqual([]);
    a.close();
    b.close();
  });

  it("closes a socket that sends a frame over SIGNAL_MAX_FRAME_BYTES with 1009", async () => {
    const { bob, a, b } = await connectedPair();
    b.send({ type: "offer", sdp: "x".repeat(65_536) });
    expect((await b.closure()).code).toBe(1009);
    expect(await a.next("participant-left")).toMatchObject({ participant: { userId: bob }, reason: "kicked" });
    a.close();
  });

  it("lets a burst of up to 50 frames through, drops the rest of a burst of 80 with one error, and stays open", async () => {
    const { a, b } = await connectedPair();
    for (let n = 0; n < 80; n++) a.send({ type: "message", data: n });
    expect(await a.next("error")).toMatchObject({ code: "rate_limited" });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    a.send({ type: "message", data: "after" });
    const received: unknown[] = [];
    for (let n = 0; n <= 80; n++) {
      const { data } = await b.next("message", 5000);
      if (data === "after") break;
      received.push(data);
    }
    // The bucket refills while the burst is processed, so a few more than 50 may pass; never all 80.
    expect(received.length).toBeGreaterThanOrEqual(50);
    expect(received.length).toBeLessThan(80);
    // The first 50 all pass; what passes after them is in order too.
    expect(received.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(received).toEqual([...(received as number[])].sort((x, y) => x - y));
    expect(a.frames).toEqual([]);
    expect(a.closed).toBeUndefined();
    a.close();
    b.close();
  });

  it("costs a frame it fails to handle only that frame: an internal error frame, one log line, and the call goes on", async () => {
    const { callId, a, b } = await connectedPair();
    const stub = stubOf(callId);
    // A bug in the relay, standing in for any exception while handling a frame.
    const relayOf = (room: unknown) => (room as { relay: { forward?: () => void } }).relay;
    await runInDurableObject(stub, (room) => {
      relayOf(room).forward = () => {
        throw new TypeError("boom");
      };
    });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    a.send({ type: "message", data: 1 });
    expect(await a.next("error")).toMatchObject({ code: "internal" });
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])))).toEqual([expect.objectContaining({ event: "frame_failed", object: "CallRoom", error: "TypeError" })]);
    errors.mockRestore();
    await runInDurableObject(stub, (room) => void delete relayOf(room).forward);
    a.send({ type: "message", data: 2 });
    expect(await b.next("message")).toMatchObject({ data: 2 });
    a.close();
    b.close();
  });

  it("rate-limits a flooding connection: an error frame, then close 1008", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);
    const a = await connect(callId, alice);
    await a.next("welcome");
    for (let n = 0; n < 300; n++) a.send({ type: "message", data: n });
    const error = a.frames.length > 0 ? a.frames[0] : await a.next();
    expect(error).toMatchObject({ type: "error", code: "rate_limited" });
    expect((await a.closure()).code).toBe(1008);
  });

  it("refuses upgrades before accepting them: no token, bad token, stranger, unknown call, not an upgrade", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);
    const cases: [Promise<Response>, number, string][] = [
      [upgrade(callId, undefined), 401, "unauthorized"],
      [upgrade(callId, bob, { subprotocol: true, token: "a.b.c" }), 401, "unauthorized"],
      [upgrade(callId, user("mallory")), 403, "forbidden"],
      [upgrade(callId, user("mallory"), { subprotocol: true }), 403, "forbidden"],
      [upgrade(newCallId(), alice), 404, "not_found"],
      [api(alice, "GET", `/v1/calls/${callId}/ws`), 426, "invalid_request"],
    ];
    for (const [pending, status, code] of cases) {
      const response = await pending;
      expect(response.status).toBe(status);
      expect(response.webSocket).toBeNull();
      expect((await errorOf(response)).code).toBe(code);
    }
  });

  it("refuses connections beyond SIGNAL_MAX_CONNECTIONS (8)", async () => {
    const caller = user("alice");
    const callees = Array.from({ length: 9 }, (_, i) => user(`callee${i}`));
    const { callId } = await placeCall(caller, callees);
    const clients = [await connect(callId, caller)];
    for (const callee of callees.slice(0, 7)) clients.push(await connect(callId, callee));
    const refused = await upgrade(callId, callees[8]!);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect((await errorOf(refused)).code).toBe("rate_limited");
    for (const client of clients) client.close();
  });

  it("always lets the caller in, and the callee who answered, however many ringing callees hold sockets", async () => {
    const caller = user("alice");
    const callees = Array.from({ length: 32 }, (_, i) => user(`callee${i}`));
    const { callId } = await placeCall(caller, callees);
    // Ringing callees share the slots the caller does not need: 7 of 8.
    const ringing = [];
    for (const callee of callees.slice(0, 7)) ringing.push(await connect(callId, callee));
    expect((await upgrade(callId, callees[7]!)).status).toBe(429);
    const a = await connect(callId, caller);
    expect((await a.next("welcome")).participants).toHaveLength(7);
    // A callee without a socket answers over REST and gets in; the others are closed out.
    expect((await api(callees[20]!, "POST", `/v1/calls/${callId}/accept`)).status).toBe(200);
    const answerer = await connect(callId, callees[20]!);
    expect(await answerer.next("welcome")).toMatchObject({ state: "active", answeredBy: callees[20] });
    for (const client of [a, answerer, ...ringing]) client.close();
  });

  it("holds the frame limit per participant across reconnects, and limits how often one reconnects", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);
    const b = await connect(callId, bob);
    await b.next("welcome");
    // Alice spends her 50-frame burst on one socket (bob has it all), reconnects at once and sends
    // 50 more: a fresh bucket would pass them all; hers refills at 50 a second, so it warns.
    const first = await connect(callId, alice);
    await first.next("welcome");
    for (let n = 0; n < 50; n++) first.send({ type: "message", data: n });
    await b.next("participant-joined");
    for (let n = 0; n < 50; n++) expect(await b.next("message")).toMatchObject({ data: n });
    const second = await connect(callId, alice);
    await second.next("welcome");
    for (let n = 0; n < 50; n++) second.send({ type: "message", data: 50 + n });
    expect(await second.next("error")).toMatchObject({ code: "rate_limited" });
    // Five sockets at once, then one every two seconds.
    for (let n = 0; n < 3; n++) (await connect(callId, alice)).close();
    const refused = await upgrade(callId, alice);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect((await errorOf(refused)).message).toContain(`at most ${UPGRADE_BURST} new sockets`);
    for (const client of [b, first, second]) client.close();
  });

  it("lets a user reconnect and keep their place: fresh welcome; others see leave and join", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const { callId } = await placeCall(alice, [bob]);
    const a = await connect(callId, alice);
    const b1 = await connect(callId, bob);
    await a.next("welcome");
    const first = (await b1.next("welcome")).you as { connectionId: string };
    await a.next("participant-joined");

    b1.close();
    expect(await a.next("participant-left")).toEqual({ type: "participant-left", participant: { userId: bob, connectionId: first.connectionId }, reason: "closed" });
    a.send({ type: "message", data: "while you were away" });

    const b2 = await connect(callId, bob);
    const again = await b2.next("welcome");
    expect(again).toMatchObject({ state: "ringing", you: { userId: bob }, participants: [{ userId: alice }] });
    expect((again.you as { connectionId: string }).connectionId).not.toBe(first.connectionId);
    expect(await b2.next("message")).toMatchObject({ data: "while you were away" });
    expect(await a.next("participant-joined")).toMatchObject({ participant: { userId: bob } });

    // A second socket for the same user replaces the first one.
    const b3 = await connect(callId, bob);
    await b3.next("welcome");
    expect((await b2.closure()).code).toBe(4001);
    expect(await a.next("participant-left")).toMatchObject({ participant: { userId: bob }, reason: "replaced" });
    expect(await a.next("participant-joined")).toMatchObject({ participant: { userId: bob } });
    b3.send({ type: "accept" });
    expect(await a.next("state")).toEqual({ type: "state", state: "active", answeredBy: bob });
    a.close();
    b3.close();
  });

  it("answers a ping in any JSON spelling, not only the auto-response's exact text", async () => {
    const { a, b } = await connectedPair();
    a.send('{ "type": "ping" }');
    expect(await a.next("pong")).toEqual({ type: "pong" });
    a.close();
    b.close();
  });

  it("keeps relaying after the room is evicted with its sockets hibernated", async () => {
    const { callId, alice, bob, a, b, aliceId, bobId } = await connectedPair();

    await evictDurableObject(stubOf(callId), { webSockets: "hibernate" });

    a.send({ type: "ping" });
    expect(await a.next("pong")).toEqual({ type: "pong" });
    a.send({ type: "offer", sdp: SDP });
    expect(await b.next("offer")).toEqual({ type: "offer", sdp: SDP, from: { userId: alice, connectionId: aliceId } });
    b.send({ type: "answer", sdp: SDP, to: aliceId });
    b.send({ type: "accept" });
    expect(await a.next("state")).toEqual({ type: "state", state: "active", answeredBy: bob });
    expect(await a.next("answer")).toEqual({ type: "answer", sdp: SDP, from: { userId: bob, connectionId: bobId } });
    a.close();
    b.close();
  });
});

describe("room integrity", () => {
  /** A ringing call with `count` callees, the caller and every callee connected and welcomed. */
  async function groupCall(count: number) {
    const caller = user("alice");
    const callees = Array.from({ length: count }, (_, i) => user(`callee${i}`));
    const { callId } = await placeCall(caller, callees);
    const a = await connect(callId, caller);
    const aliceId = ((await a.next("welcome")).you as { connectionId: string }).connectionId;
    const clients = [];
    for (const callee of callees) {
      const client = await connect(callId, callee);
      await client.next("welcome");
      clients.push(client);
    }
    // Drain the joins: each earlier callee saw every later one join, the caller saw them all.
    for (let i = 0; i < count; i++) await a.next("participant-joined");
    for (const [i, client] of clients.entries()) for (let j = i + 1; j < count; j++) await client.next("participant-joined");
    return { callId, caller, callees, a, aliceId, clients };
  }

  /**
   * A ping the room itself answers, in order with the frames before it (the exact text
   * `{"type":"ping"}` is answered by the runtime at once, possibly before earlier frames ran).
   */
  const PING_IN_ORDER = '{ "type": "ping" }';

  /** Proves nothing else is queued for `client` by a ping whose pong must be the very next frame. */
  async function nothingElseFor(client: Awaited<ReturnType<typeof connect>>) {
    client.send(PING_IN_ORDER);
    expect(await client.next()).toEqual({ type: "pong" });
  }

  it("holds a callee's answer and candidates until it accepts, then delivers them in order; messages pass at once", async () => {
    const { a, b, bob, bobId } = await connectedPair();
    a.send({ type: "offer", sdp: SDP });
    expect(await b.next("offer")).toMatchObject({ sdp: SDP });
    b.send({ type: "answer", sdp: SDP });
    b.send({ type: "candidate", candidate: candidate(1) });
    b.send({ type: "candidate", candidate: null });
    b.send({ type: "message", data: "ringing on my side" });
    // Only the message reached the caller: no media can start before bob picks up.
    expect(await a.next("message")).toMatchObject({ data: "ringing on my side" });
    await nothingElseFor(a);

    b.send({ type: "accept" });
    const from = { userId: bob, connectionId: bobId };
    expect(await a.next("state")).toEqual({ type: "state", state: "active", answeredBy: bob });
    expect(await a.next("answer")).toEqual({ type: "answer", sdp: SDP, from });
    expect(await a.next("candidate")).toEqual({ type: "candidate", candidate: candidate(1), from });
    expect(await a.next("candidate")).toEqual({ type: "candidate", candidate: null, from });
    // Once answered, frames flow straight through.
    b.send({ type: "candidate", candidate: candidate(2) });
    expect(await a.next("candidate")).toEqual({ type: "candidate", candidate: candidate(2), from });
    a.close();
    b.close();
  });

  it("holds frames of a callee who answers over REST, and releases them then", async () => {
    const { callId, a, b, bob } = await connectedPair();
    b.send({ type: "answer", sdp: SDP });
    await nothingElseFor(a);
    expect((await api(bob, "POST", `/v1/calls/${callId}/accept`)).status).toBe(200);
    expect(await a.next("state")).toMatchObject({ state: "active", answeredBy: bob });
    expect(await a.next("answer")).toMatchObject({ sdp: SDP, from: { userId: bob } });
    a.close();
    b.close();
  });

  it("a callee who declines is out: its socket closes, its held frames are dropped, it can no longer join or act", async () => {
    const { callId, callees, a, clients } = await groupCall(2);
    const [bob, carol] = callees as [string, string];
    const [b, c] = clients as [Awaited<ReturnType<typeof connect>>, Awaited<ReturnType<typeof connect>>];
    b.send({ type: "answer", sdp: SDP });
    b.send({ type: "decline" });
    expect(await b.closure()).toEqual({ code: 1000, reason: "you declined this call" });
    expect(await a.next("participant-left")).toMatchObject({ participant: { userId: bob }, reason: "declined" });
    expect(await c.next("participant-left")).toMatchObject({ participant: { userId: bob }, reason: "declined" });

    const refused = await upgrade(callId, bob);
    expect(refused.status).toBe(403);
    expect(await errorOf(refused)).toEqual({ code: "forbidden", message: "you declined this call" });
    expect((await api(bob, "POST", `/v1/calls/${callId}/end`)).status).toBe(403);
    expect((await api(bob, "POST", `/v1/calls/${callId}/accept`)).status).toBe(409);
    // The call rings on for carol; bob could not end it for her.
    expect(((await (await api(bob, "GET", `/v1/calls/${callId}`)).json()) as { state: string }).state).toBe("ringing");

    c.send({ type: "accept" });
    expect(await a.next("state")).toMatchObject({ state: "active", answeredBy: carol });
    // bob's held answer was dropped with him.
    await nothingElseFor(a);
    a.close();
    c.close();
  });

  it("once a callee accepts, the other callees' sockets close (answered elsewhere) and they can no longer join or act", async () => {
    const { callId, callees, a, clients } = await groupCall(3);
    const [bob, carol, dave] = callees as [string, string, string];
    const [b, c, d] = clients as [Awaited<ReturnType<typeof connect>>, Awaited<ReturnType<typeof connect>>, Awaited<ReturnType<typeof connect>>];
    c.send({ type: "answer", sdp: "carol's answer" });
    d.send({ type: "candidate", candidate: candidate(4) });
    b.send({ type: "accept" });

    expect(await a.next("state")).toMatchObject({ state: "active", answeredBy: bob });
    const left = [await a.next("participant-left"), await a.next("participant-left")];
    expect(left.map((frame) => [(frame.participant as { userId: string }).userId, frame.reason]).sort()).toEqual(
      [
        [carol, "answered-elsewhere"],
        [dave, "answered-elsewhere"],
      ].sort(),
    );
    for (const other of [c, d]) {
      expect(await other.next("state")).toMatchObject({ state: "active", answeredBy: bob });
      expect(await other.closure()).toEqual({ code: 1000, reason: "another callee answered this call" });
    }
    // Neither carol's answer nor dave's candidate ever reaches the caller.
    await nothingElseFor(a);

    for (const out of [carol, dave]) {
      const refused = await upgrade(callId, out);
      expect(refused.status).toBe(403);
      expect((await errorOf(refused)).message).toBe("another callee answered this call");
      expect((await api(out, "POST", `/v1/calls/${callId}/end`)).status).toBe(403);
    }
    // The two who are in the call talk on.
    a.send({ type: "offer", sdp: SDP });
    expect(await b.next("state")).toMatchObject({ state: "active" });
    expect((await b.next("participant-left")).reason).toBe("answered-elsewhere");
    expect((await b.next("participant-left")).reason).toBe("answered-elsewhere");
    expect(await b.next("offer")).toMatchObject({ sdp: SDP });
    a.close();
    b.close();
  });

  it("answers a deeply nested frame with an error frame and keeps the socket", async () => {
    const { a, b } = await connectedPair();
    const nested = (depth: number) => `{"type":"message","data":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`;
    a.send(nested(20_000));
    expect(await a.next("error")).toMatchObject({ code: "invalid_frame", message: "frame nests deeper than 32 levels" });
    a.send(nested(33));
    expect(await a.next("error")).toMatchObject({ code: "invalid_frame" });
    // 32 levels, and brackets inside strings, are fine.
    a.send(nested(32));
    expect(await b.next("message")).toMatchObject({ type: "message" });
    a.send({ type: "message", data: "[".repeat(5000) });
    expect(await b.next("message")).toMatchObject({ data: "[".repeat(5000) });
    await nothingElseFor(a);
    a.close();
    b.close();
  });

  it("caps the bytes waiting in one call, whoever they wait for", async () => {
    const caller = user("alice");
    const callees = Array.from({ length: 6 }, (_, i) => user(`away${i}`));
    const { callId } = await placeCall(caller, callees);
    const a = await connect(callId, caller);
    await a.next("welcome");
    // Nobody else is connected: every frame waits for six people (~6 × 60 KB).
    const big = { type: "message", data: "x".repeat(60_000) };
    let firstRefused: number | undefined;
    for (let n = 0; n < 16 && firstRefused === undefined; n++) {
      a.send(big);
      a.send(PING_IN_ORDER);
      const reply = await a.next();
      if (reply.type === "error") {
        expect(reply).toMatchObject({ code: "recipient_queue_full" });
        expect(await a.next("pong")).toEqual({ type: "pong" });
        firstRefused = n;
      } else expect(reply).toEqual({ type: "pong" });
    }
    // One person's share (1 MiB) would take 17 frames; the call's 4 MiB ran out long before.
    expect(firstRefused).toBeDefined();
    expect(firstRefused!).toBeLessThan(13);
    const stored = await runInDurableObject(stubOf(callId), (_room, state) =>
      state.storage.sql.exec<{ bytes: number }>("SELECT COALESCE(SUM(bytes), 0) AS bytes FROM pending").one().bytes,
    );
    expect(stored).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(stored).toBeGreaterThan(3 * 1024 * 1024);
    a.close();
  });
});
