/**
 * Users' lines in workerd (src/calls/line.ts): real UserLine and CallRoom Durable Objects, real
 * WebSockets through the Worker. A call's room tells its participants' lines of every change;
 * the lines tell every open tab (`GET /v1/me/ws`) and answer the ringing list and the history
 * (`GET /v1/calls`).
 */
import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { frameFor, isNewer, MAX_LINE_SOCKETS } from "../../src/calls/line";
import type { LineCall } from "../../src/calls/machine";
import { app } from "../../src/api";
import { randomId } from "../../src/platform/ids";
import { api, placeCall, user } from "../support/calls";
import { SignalClient } from "../support/signal-client";
import { authHeader, tokenFor } from "../support/tokens";
import type { CallRoom } from "../support/worker";

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

async function upgradeLine(userId: string | undefined, options: { subprotocol?: boolean } = {}): Promise<Response> {
  const headers: Record<string, string> = { upgrade: "websocket" };
  if (userId) {
    const token = await tokenFor(userId);
    if (options.subprotocol) headers["sec-websocket-protocol"] = `signal.v1, bearer.${token}`;
    else headers.authorization = `Bearer ${token}`;
  }
  return exports.default.fetch("http://edge.test/v1/me/ws", { headers });
}

/** Opens a line socket for `userId` and takes its welcome. */
async function line(userId: string, options: { subprotocol?: boolean } = {}) {
  const response = await upgradeLine(userId, options);
  if (response.status !== 101 || !response.webSocket) throw new Error(`line upgrade → ${response.status} ${await response.text()}`);
  response.webSocket.accept();
  const client = new SignalClient(response.webSocket, response.headers.get("sec-websocket-protocol"));
  const welcome = await client.next("welcome");
  return { client, welcome: welcome as unknown as { type: "welcome"; userId: string; calls: { callId: string }[] } };
}

const roomOf = (callId: string) => env.CALL_ROOM.get(env.CALL_ROOM.idFromName(callId));

describe("GET /v1/me/ws", () => {
  it("tells every open tab of the callee of an incoming call, then that it was answered on one of them", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const [tab1, tab2] = [await line(bob, { subprotocol: true }), await line(bob)];
    expect(tab1.client.protocol).toBe("signal.v1");
    expect(tab1.welcome).toEqual({ type: "welcome", userId: bob, calls: [] });
    const caller = await line(alice);

    const created = await placeCall(alice, [bob], "audio");
    for (const tab of [tab1, tab2]) {
      const frame = await tab.client.next("incoming-call");
      expect(frame.call).toEqual({
        callId: created.callId,
        caller: alice,
        callees: [bob],
        media: "audio",
        createdAt: expect.any(String),
        ringsUntil: expect.any(String),
        wsPath: `/v1/calls/${created.callId}/ws`,
      });
    }
    // A tab opened now hears of it in its welcome.
    const tab3 = await line(bob);
    expect(tab3.welcome.calls.map((call) => call.callId)).toEqual([created.callId]);

    expect((await api(bob, "POST", `/v1/calls/${created.callId}/accept`)).status).toBe(200);
    const answered = { type: "call-update", call: { callId: created.callId, state: "active", answeredBy: bob } };
    for (const tab of [tab1, tab2, tab3, caller]) expect(await tab.client.next("call-update")).toEqual(answered);
    // Nothing rings any more.
    expect((await line(bob)).welcome.calls).toEqual([]);
    for (const tab of [tab1, tab2, tab3, caller]) tab.client.close();
  });

  it("tells the other callees of a group call that it was answered elsewhere, and a decliner that it is over for them", async () => {
    const [alice, bob, carol, dave] = [user("alice"), user("bob"), user("carol"), user("dave")];
    const lines = { bob: await line(bob), carol: await line(carol), dave: await line(dave) };
    const { callId } = await placeCall(alice, [bob, carol, dave]);
    for (const l of Object.values(lines)) await l.client.next("incoming-call");

    await api(dave, "POST", `/v1/calls/${callId}/decline`);
    expect(await lines.dave.client.next("call-update")).toEqual({ type: "call-update", call: { callId, state: "ended", endReason: "declined" } });
    await api(carol, "POST", `/v1/calls/${callId}/accept`);
    for (const l of [lines.bob, lines.carol]) {
      expect(await l.client.next("call-update")).toEqual({ type: "call-update", call: { callId, state: "active", answeredBy: carol } });
    }
    await api(alice, "POST", `/v1/calls/${callId}/end`);
    for (const l of [lines.bob, lines.carol]) {
      expect(await l.client.next("call-update")).toMatchObject({ call: { callId, state: "ended", endReason: "hangup" } });
    }
    // dave declined: that stays his view, and he was told once.
    lines.dave.client.send('{ "type": "ping" }');
    expect(await lines.dave.client.next()).toEqual({ type: "pong" });
    for (const l of Object.values(lines)) l.client.close();
  });

  it("tells the callee a call was cancelled, and that one rang out as missed", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const tab = await line(bob);
    const cancelled = await placeCall(alice, [bob]);
    await tab.client.next("incoming-call");
    await api(alice, "POST", `/v1/calls/${cancelled.callId}/end`);
    expect(await tab.client.next("call-update")).toEqual({ type: "call-update", call: { callId: cancelled.callId, state: "ended", endReason: "cancelled" } });

    const missed = await placeCall(alice, [bob]);
    await tab.client.next("incoming-call");
    await runInDurableObject(roomOf(missed.callId), (_room, state) => {
      state.storage.kv.put("call", { ...state.storage.kv.get<object>("call")!, ringDeadline: Date.now() - 1 });
    });
    await runDurableObjectAlarm(roomOf(missed.callId));
    expect(await tab.client.next("call-update")).toEqual({ type: "call-update", call: { callId: missed.callId, state: "ended", endReason: "missed" } });
    tab.client.close();
  });

  it(`refuses a ${MAX_LINE_SOCKETS + 1}th socket, a request without a token and one that is no upgrade; answers ping and refuses other frames`, async () => {
    const erin = user("erin");
    const tabs = [];
    for (let n = 0; n < MAX_LINE_SOCKETS; n++) tabs.push(await line(erin));
    const refused = await upgradeLine(erin);
    expect(refused.status).toBe(429);
    expect((await errorOf(refused)).code).toBe("rate_limited");
    expect((await upgradeLine(undefined)).status).toBe(401);
    expect((await api(erin, "GET", "/v1/me/ws")).status).toBe(426);

    const { client } = tabs[0]!;
    client.send({ type: "ping" });
    expect(await client.next("pong")).toEqual({ type: "pong" });
    client.send({ type: "offer", sdp: "v=0" });
    expect(await client.next("error")).toMatchObject({ code: "invalid_frame" });
    // A closed tab frees its place.
    client.close();
    await client.closure();
    await expect.poll(async () => (await upgradeLine(erin)).status, { timeout: 3000 }).toBe(101);
    for (const tab of tabs) tab.client.close();
  });
});

describe("POST /v1/calls with a broken TURN configuration", () => {
  it("answers 500 before the call exists: nothing rings", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const tab = await line(bob);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const headers = { ...(await authHeader(alice)), "content-type": "application/json" };
    const response = await app.request("/v1/calls", { method: "POST", headers, body: JSON.stringify({ callees: [bob], media: "audio" }) }, { ...env, TURN_POOLS: "[]" });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("TURN_POOLS");
    errors.mockRestore();
    // Bob's tab hears of no call (a room would have rung it within milliseconds), and nothing rings for him.
    await expect(tab.client.next(undefined, 1000)).rejects.toThrow(/no a frame within 1000 ms/);
    tab.client.send('{ "type": "ping" }');
    expect(await tab.client.next()).toEqual({ type: "pong" });
    expect(await (await api(bob, "GET", "/v1/calls?state=ringing")).json()).toEqual({ calls: [] });
    tab.client.close();
  });
});

describe("a line socket whose frame the line fails to handle", () => {
  it("costs that frame only: an internal error frame, one log line, and the socket goes on", async () => {
    const frank = user("frank");
    const { client } = await line(frank);
    const stub = env.USER_LINE.get(env.USER_LINE.idFromName(frank));
    // A bug in the frame handler, standing in for any exception while handling a frame.
    await runInDurableObject(stub, (instance) => {
      (instance as unknown as { onFrame: () => Promise<void> }).onFrame = async () => {
        throw new TypeError("boom");
      };
    });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    client.send({ type: "ping", n: 1 });
    expect(await client.next("error")).toMatchObject({ code: "internal" });
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])))).toEqual([expect.objectContaining({ event: "frame_failed", object: "UserLine", error: "TypeError", message: "boom" })]);
    errors.mockRestore();
    await runInDurableObject(stub, (instance) => void delete (instance as unknown as { onFrame?: unknown }).onFrame);
    // Not the auto-response's exact text, so the line's own handler answers it.
    client.send('{ "type": "ping" }');
    expect(await client.next()).toEqual({ type: "pong" });
    client.close();
  });
});

describe("GET /v1/calls", () => {
  it("?state=ringing lists the calls ringing for the user, not those they declined, answered or placed", async () => {
    const [alice, bob, carol] = [user("alice"), user("bob"), user("carol")];
    const first = await placeCall(alice, [bob]);
    const second = await placeCall(carol, [bob]);
    const declined = await placeCall(carol, [bob, alice]);
    await api(bob, "POST", `/v1/calls/${declined.callId}/decline`);
    const ringing = async (userId: string) => {
      const response = await api(userId, "GET", "/v1/calls?state=ringing");
      expect(response.status).toBe(200);
      return ((await response.json()) as { calls: { callId: string; caller: string }[] }).calls;
    };
    await expect.poll(async () => (await ringing(bob)).map((call) => call.callId), { timeout: 3000 }).toEqual([first.callId, second.callId]);
    expect((await ringing(alice)).map((call) => call.callId)).toEqual([declined.callId]);
    await api(bob, "POST", `/v1/calls/${first.callId}/accept`);
    await expect.poll(async () => (await ringing(bob)).map((call) => call.callId), { timeout: 3000 }).toEqual([second.callId]);
  });

  it("pages through the history newest first, with direction and missed incoming calls marked", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) {
      const { callId } = n % 2 === 0 ? await placeCall(alice, [bob]) : await placeCall(bob, [alice]);
      ids.push(callId);
      await api(n % 2 === 0 ? alice : bob, "POST", `/v1/calls/${callId}/end`);
    }
    // The last one, from bob, rings out at alice.
    const missed = await placeCall(bob, [alice]);
    ids.push(missed.callId);
    await runInDurableObject(roomOf(missed.callId), (_room, state) => {
      state.storage.kv.put("call", { ...state.storage.kv.get<object>("call")!, ringDeadline: Date.now() - 1 });
    });
    await runDurableObjectAlarm(roomOf(missed.callId));

    type Page = { calls: { callId: string; direction: string; state: string; endReason?: string; missed?: boolean }[]; next?: string };
    const page = async (query: string) => (await (await api(alice, "GET", `/v1/calls${query}`)).json()) as Page;
    await expect.poll(async () => (await page("?limit=1")).calls[0]?.endReason, { timeout: 3000 }).toBe("missed");
    const first = await page("?limit=4");
    expect(first.calls.map((call) => call.callId)).toEqual([...ids].reverse().slice(0, 4));
    expect(first.calls[0]).toMatchObject({ direction: "incoming", state: "ended", endReason: "missed", missed: true });
    expect(first.calls[1]).toMatchObject({ direction: "outgoing", endReason: "cancelled" });
    expect(first.calls[1]!.missed).toBeUndefined();
    expect(first.next).toBeDefined();
    const second = await page(`?limit=4&before=${encodeURIComponent(first.next!)}`);
    expect(second.calls.map((call) => call.callId)).toEqual([...ids].reverse().slice(4));
    expect(second.next).toBeUndefined();
    // bob placed the missed call: for him it is outgoing and not "missed".
    const bobs = (await (await api(bob, "GET", "/v1/calls?limit=1")).json()) as Page;
    expect(bobs.calls[0]).toMatchObject({ callId: missed.callId, direction: "outgoing", endReason: "missed" });
    expect(bobs.calls[0]!.missed).toBeUndefined();
  });

  it("neither repeats nor skips calls created in the same millisecond across pages", async () => {
    const frank = user("frank");
    const stub = env.USER_LINE.get(env.USER_LINE.idFromName(frank));
    const ids = Array.from({ length: 5 }, () => randomId(16));
    for (const callId of ids) {
      await stub.record(frank, { callId, caller: frank, callees: ["x"], media: "audio", state: "ended", createdAt: 1_700_000_000_000, ringsUntil: 1_700_000_045_000, endedAt: 1_700_000_001_000, endReason: "cancelled", declined: [] });
    }
    const seen: string[] = [];
    let query = "?limit=2";
    for (let page = 0; page < 5; page++) {
      const body = (await (await api(frank, "GET", `/v1/calls${query}`)).json()) as { calls: { callId: string }[]; next?: string };
      seen.push(...body.calls.map((call) => call.callId));
      if (!body.next) break;
      query = `?limit=2&before=${encodeURIComponent(body.next)}`;
    }
    expect(seen).toEqual([...ids].sort().reverse());
  });

  it.each([["?state=ended"], ["?limit=0"], ["?limit=101"], ["?limit=ten"], ["?before=yesterday"], ["?before=2026-13-45T00:00:00Z"], ["?before=2026-12-01T00:00:00Z~short"], ["?other=1"]])("answers 400 to %s", async (query) => {
    const response = await api(user("u"), "GET", `/v1/calls${query}`);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe("invalid_request");
  });
});

describe("a line's snapshots", () => {
  const base: LineCall = {
    callId: "c1",
    caller: "alice",
    callees: ["bob", "carol"],
    media: "video",
    state: "ringing",
    createdAt: 1_000,
    ringsUntil: 46_000,
    declined: [],
  };
  const active: LineCall = { ...base, state: "active", answeredAt: 5_000, answeredBy: "carol" };

  it("applies a snapshot once, and never an older one after a newer", () => {
    expect(isNewer(base, undefined)).toBe(true);
    expect(isNewer(base, base)).toBe(false);
    expect(isNewer(active, base)).toBe(true);
    expect(isNewer(base, active)).toBe(false);
    expect(isNewer({ ...base, declined: ["bob"] }, base)).toBe(true);
  });

  it("makes incoming-call for a callee the call rings for, a call-update when their view changes, nothing otherwise", () => {
    expect(frameFor("bob", base, undefined, 2_000)).toMatchObject({ type: "incoming-call", call: { callId: "c1", wsPath: "/v1/calls/c1/ws" } });
    // Past its ring time, a first snapshot is no longer an incoming call.
    expect(frameFor("bob", base, undefined, 50_000)).toBeUndefined();
    expect(frameFor("alice", base, undefined, 2_000)).toBeUndefined();
    expect(frameFor("bob", active, base, 6_000)).toEqual({ type: "call-update", call: { callId: "c1", state: "active", answeredBy: "carol" } });
    // bob declines: the call is over for him, and stays so whatever happens to it next.
    const declined = { ...base, declined: ["bob"] };
    expect(frameFor("bob", declined, base, 3_000)).toEqual({ type: "call-update", call: { callId: "c1", state: "ended", endReason: "declined" } });
    expect(frameFor("carol", declined, base, 3_000)).toBeUndefined();
    expect(frameFor("bob", { ...active, declined: ["bob"] }, declined, 6_000)).toBeUndefined();
  });
});

describe("a line the room cannot reach", () => {
  it("gets the snapshot from the room's alarm once it can, and the tab hears of the call once", async () => {
    const [alice, bob] = [user("alice"), user("bob")];
    const tab = await line(bob);
    const callId = randomId(16);
    const stub = roomOf(callId);
    // Every snapshot goes to the callees' lines first (bob's), then the caller's (alice's): bob's
    // line refuses the room's own send and the alarm's first retry.
    await runInDurableObject(stub, (room: CallRoom) => room.lines.failNext(2));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await stub.create({ callId, caller: alice, callees: [bob], media: "audio" })).ok).toBe(true);
    await vi.waitFor(async () => expect(await runInDurableObject(stub, (room: CallRoom) => room.lines.attempts)).toBe(1));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    expect(await tab.client.next("incoming-call")).toMatchObject({ call: { callId, caller: alice } });
    // Refused twice, then bob's line and alice's took it.
    expect(await runInDurableObject(stub, (room: CallRoom) => room.lines.attempts)).toBe(4);
    // The alarm's retries sent the snapshot to bob's line again: his tab hears nothing twice.
    tab.client.send('{ "type": "ping" }');
    expect(await tab.client.next()).toEqual({ type: "pong" });
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])).event)).toEqual(["line_update_failed", "line_update_failed"]);
    errors.mockRestore();
    tab.client.close();
  });
});
