/**
 * The SDK's line (`client.listen()`) against a scripted WebSocket: what it connects to and with
 * which token, how `ringing` and the events follow the server's frames, that a dropped or silent
 * socket is replaced with back-off and a fresh token, and that `close()` and a server's 1008
 * stop it for good. Timers are vitest's fake ones. Not covered here: the real server (the
 * workers suite) and a real browser (test/e2e/incoming.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CallUpdate, IncomingCall, LineServerFrame } from "../../src/calls/line-protocol";

/** A WebSocket the test drives: it records what the SDK sends and delivers what the test says. */
class ScriptedSocket {
  static readonly OPEN = 1;
  static all: ScriptedSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closedWith?: number;
  onopen?: () => void;
  onmessage?: (event: { data: string }) => void;
  onclose?: (event: { code: number; reason: string }) => void;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    ScriptedSocket.all.push(this);
  }

  send(text: string) {
    this.sent.push(text);
  }

  close(code?: number) {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }

  open() {
    this.readyState = 1;
    this.onopen?.();
  }

  receive(frame: LineServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The connection ends from the far side (or the upgrade was refused: a browser sees 1006 either way). */
  end(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

interface LineEvents {
  incoming: IncomingCall;
  ringing: IncomingCall[];
  "call-update": CallUpdate;
  connection: string;
  error: { code: string; message: string };
}
interface Line {
  ringing: ReadonlyMap<string, IncomingCall>;
  userId?: string;
  state: string;
  on<K extends keyof LineEvents>(event: K, listener: (value: LineEvents[K]) => void): Line;
  close(): void;
}
interface Sdk {
  SecureConnect: new (options: { baseUrl: string; token: () => string | Promise<string> }) => { listen(): Line };
}

// The SDK is typed against the DOM, which this project's tsconfig (Workers and Node types) does
// not have: it is loaded untyped and described by the interfaces above.
const sdkPath = "../../client/src/index.ts";
const { SecureConnect } = (await import(sdkPath)) as Sdk;

const incoming = (callId: string): IncomingCall => ({
  callId,
  caller: "alice",
  callees: ["bob"],
  media: "video",
  createdAt: "2026-11-24T12:00:00.000Z",
  ringsUntil: "2026-11-24T12:00:45.000Z",
  wsPath: `/v1/calls/${callId}/ws`,
});

let tokens: number;
let seen: { [K in keyof LineEvents]: LineEvents[K][] };

function listen(): Line {
  const line = new SecureConnect({ baseUrl: "https://edge.example.com/", token: () => `jwt-${++tokens}` }).listen();
  seen = { incoming: [], ringing: [], "call-update": [], connection: [], error: [] };
  for (const event of Object.keys(seen) as (keyof LineEvents)[]) line.on(event, (value) => (seen[event] as unknown[]).push(value));
  return line;
}

/** The socket the line opened last, once its token has been fetched. */
async function latestSocket(count: number): Promise<ScriptedSocket> {
  await vi.waitFor(() => expect(ScriptedSocket.all).toHaveLength(count));
  return ScriptedSocket.all.at(-1)!;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal("WebSocket", ScriptedSocket);
  ScriptedSocket.all = [];
  tokens = 0;
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("client.listen()", () => {
  it("connects to /v1/me/ws with signal.v1 and the bearer token, and is open once welcomed", async () => {
    const line = listen();
    const socket = await latestSocket(1);
    expect(socket.url).toBe("wss://edge.example.com/v1/me/ws");
    expect(socket.protocols).toEqual(["signal.v1", "bearer.jwt-1"]);
    expect(line.state).toBe("connecting");
    socket.open();
    socket.receive({ type: "welcome", userId: "bob", calls: [incoming("c1")] });
    expect([line.state, line.userId]).toEqual(["open", "bob"]);
    expect(seen.connection).toEqual(["open"]);
    // A call already ringing when the line opens is announced like a new one.
    expect(seen.incoming.map((call) => call.callId)).toEqual(["c1"]);
    expect([...line.ringing.keys()]).toEqual(["c1"]);
  });

  it("follows incoming calls and call updates, and passes every update on", async () => {
    const line = listen();
    const socket = await latestSocket(1);
    socket.open();
    socket.receive({ type: "welcome", userId: "bob", calls: [] });
    socket.receive({ type: "incoming-call", call: incoming("c1") });
    expect(seen.incoming.map((call) => call.callId)).toEqual(["c1"]);
    expect(seen.ringing.map((calls) => calls.map((call) => call.callId))).toEqual([["c1"]]);

    // Bob answered on another tab: the prompt goes away here.
    socket.receive({ type: "call-update", call: { callId: "c1", state: "active", answeredBy: "bob" } });
    expect(line.ringing.size).toBe(0);
    expect(seen["call-update"]).toEqual([{ callId: "c1", state: "active", answeredBy: "bob" }]);
    expect(seen.ringing.at(-1)).toEqual([]);

    // An update for Bob's own outgoing call changes nothing that rings.
    socket.receive({ type: "call-update", call: { callId: "out", state: "ended", endReason: "declined" } });
    expect(seen["call-update"]).toHaveLength(2);
    expect(seen.ringing).toHaveLength(2);

    socket.receive({ type: "error", code: "invalid_frame", message: "no" });
    expect(seen.error).toEqual([{ code: "signaling", message: "invalid_frame: no" }]);
  });

  it("reconnects a dropped line with back-off and a fresh token; the new welcome is the whole list", async () => {
    const line = listen();
    const first = await latestSocket(1);
    first.open();
    first.receive({ type: "welcome", userId: "bob", calls: [incoming("c1"), incoming("c2")] });
    first.end(1006);
    expect(line.state).toBe("closed");

    await vi.advanceTimersByTimeAsync(250);
    const second = await latestSocket(2);
    expect(second.protocols).toEqual(["signal.v1", "bearer.jwt-2"]);
    second.open();
    // c1 stopped ringing while the line was down; c3 began.
    second.receive({ type: "welcome", userId: "bob", calls: [incoming("c2"), incoming("c3")] });
    expect([...line.ringing.keys()]).toEqual(["c2", "c3"]);
    expect(seen.incoming.map((call) => call.callId)).toEqual(["c1", "c2", "c3"]);
    expect(seen["call-update"]).toEqual([]);
    expect(seen.ringing.at(-1)!.map((call) => call.callId)).toEqual(["c2", "c3"]);
    expect(seen.connection).toEqual(["open", "closed", "connecting", "open"]);
  });

  it("backs off further while connecting keeps failing (a refused upgrade looks like a drop)", async () => {
    listen();
    for (let attempt = 1; attempt <= 6; attempt++) {
      (await latestSocket(attempt)).end(1006);
      // Each wait is at most 250 ms · 2^attempt (and at least half that).
      await vi.advanceTimersByTimeAsync(125 * 2 ** (attempt - 1) - 1);
      expect(ScriptedSocket.all).toHaveLength(attempt);
      await vi.advanceTimersByTimeAsync(125 * 2 ** (attempt - 1) + 1);
    }
    await latestSocket(7);
  });

  it("pings every 30 s and replaces a socket that stopped answering", async () => {
    const line = listen();
    const socket = await latestSocket(1);
    socket.open();
    socket.receive({ type: "welcome", userId: "bob", calls: [] });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(socket.sent).toEqual(['{"type":"ping"}']);
    socket.receive({ type: "pong" });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(socket.sent).toHaveLength(2);

    // No pong, no frame at all for 30 s: the connection is dead though no close came.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(socket.closedWith).toBeDefined();
    expect(line.state).toBe("closed");
    await vi.advanceTimersByTimeAsync(250);
    await latestSocket(2);
  });

  it("stays closed after close(), and after the server closes it with 1008", async () => {
    const line = listen();
    const socket = await latestSocket(1);
    socket.open();
    line.close();
    expect(socket.closedWith).toBe(1000);
    socket.end(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ScriptedSocket.all).toHaveLength(1);
    expect(line.state).toBe("closed");

    listen();
    const kicked = await latestSocket(2);
    kicked.open();
    kicked.end(1008, "rate limit exceeded");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ScriptedSocket.all).toHaveLength(2);
    expect(seen.error).toEqual([{ code: "signaling", message: "line closed by the server (1008 rate limit exceeded)" }]);
  });
});
