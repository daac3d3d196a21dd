// The service plus two bare floors, built only for bench/signaling.ts: the same wrangler dev serves
// all three, so the service can be compared with the least the runtime can do for the same job.
// - EchoRelay: a Durable Object that forwards every frame (the floor of the call room's relay).
// - FloorRoom + FloorLine: call set-up's floor: a new object stores one row and tells a second
//   object, which holds the callee's socket, to send one frame on it.
// Not deployed, not part of src/.
import { DurableObject } from "cloudflare:workers";
import service from "../../src/index";

export { CallRoom, ApnsProviderToken, UserLine } from "../../src/index";

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
