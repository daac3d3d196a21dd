// The service plus two bare floors, built only for bench/signaling.ts: the same wrangler dev serves
// all three, so the service can be compared with the least the runtime can do for the same job.
// - EchoRelay: a Durable Object that forwards every frame (the floor of the call room's relay).
// - FloorRoom + FloorLine: call set-up's floor: a new object stores one row and tells a second
//   object, which holds the callee's socket, to send one frame on it.
// - CallRoom: the service's own, except with BENCH_CALL_LIMITER=memory (bench --call-limiter
//   memory), where the caller's call limit is counted in the room's memory instead of Miniflare's
//   simulated Rate Limiting binding, a Durable Object with a SQLite write per call. On Cloudflare
//   the binding counts in a cache on the machine, so this shows what the simulation costs.
// Not deployed, not part of src/.
import { DurableObject } from "cloudflare:workers";
import service from "../../src/index";

import { CallRoom as ServiceRoom } from "../../src/index";

export { AlertMonitor, ApnsProviderToken, DeviceRoster, MetricsRollup, TurnFleet, UserLine } from "../../src/index";

/** The calls limit (10 a minute per key, RATE_LIMITS.calls) counted in memory: one fixed window per key. */
const windows = new Map<string, { start: number; count: number }>();
const inMemoryCallLimit = {
  async limit({ key }: { key: string }) {
    const now = Date.now();
    let window = windows.get(key);
    if (!window || now - window.start >= 60_000) windows.set(key, (window = { start: now, count: 0 }));
    window.count++;
    return { success: window.count <= 10 };
  },
} as unknown as RateLimit;

export class CallRoom extends ServiceRoom {
  constructor(ctx: DurableObjectState, env: Env & { BENCH_CALL_LIMITER?: string }) {
    super(ctx, env.BENCH_CALL_LIMITER === "memory" ? { ...env, CALLS_RATE_LIMIT: inMemoryCallLimit } : env);
  }
}

interface BenchEnv extends Env {
  ECHO_RELAY: DurableObjectNamespace<EchoRelay>;
  FLOOR_ROOM: DurableObjectNamespace<FloorRoom>;
  FLOOR_LINE: DurableObjectNamespace<FloorLine>;
}

/** Forwards every frame to every other socket in the object. No parsing, no auth, no state. */
export class EchoRelay extends DurableObject<BenchEnv> {
  override async fetch(): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    for (const other of this.ctx.getWebSockets()) if (other !== ws) other.send(message);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }
}

/** A new object per call: one row written, then one call to the callee's line object. */
export class FloorRoom extends DurableObject<BenchEnv> {
  async create(callId: string, callee: string): Promise<void> {
    this.ctx.storage.kv.put("call", { callId, callee, at: Date.now() });
    await this.env.FLOOR_LINE.get(this.env.FLOOR_LINE.idFromName(callee)).ring(callId);
  }
}

/** Holds a user's socket and sends one frame on it when told. */
export class FloorLine extends DurableObject<BenchEnv> {
  override async fetch(): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async ring(callId: string): Promise<void> {
    const frame = JSON.stringify({ type: "incoming-call", call: { callId } });
    for (const ws of this.ctx.getWebSockets()) ws.send(frame);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }
}

export default {
  fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/bench/echo/")) return env.ECHO_RELAY.get(env.ECHO_RELAY.idFromName(pathname)).fetch(request);
    if (pathname.startsWith("/bench/floor/line/")) return env.FLOOR_LINE.get(env.FLOOR_LINE.idFromName(pathname.slice("/bench/floor/line/".length))).fetch(request);
    if (pathname === "/bench/floor/call" && request.method === "POST") return floorCall(request, env);
    return service.fetch(request, env, ctx);
  },
  queue: service.queue,
} satisfies ExportedHandler<BenchEnv>;

async function floorCall(request: Request, env: BenchEnv): Promise<Response> {
  const { callee } = (await request.json()) as { callee: string };
  const callId = crypto.randomUUID();
  await env.FLOOR_ROOM.get(env.FLOOR_ROOM.idFromName(callId)).create(callId, callee);
  return Response.json({ callId }, { status: 201 });
}
