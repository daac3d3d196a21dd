// The service plus a bare Durable Object echo relay, built only for bench/signaling.ts: the same
// wrangler dev serves both, so the call room's relay can be compared with the least a Durable
// Object relay can do. Not deployed, not part of src/.
import { DurableObject } from "cloudflare:workers";
import service from "../../src/index";

export { CallRoom, ApnsProviderToken, UserLine } from "../../src/index";

interface BenchEnv extends Env {
  ECHO_RELAY: DurableObjectNamespace<EchoRelay>;
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

export default {
  fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/bench/echo/")) return env.ECHO_RELAY.get(env.ECHO_RELAY.idFromName(pathname)).fetch(request);
    return service.fetch(request, env, ctx);
  },
  queue: service.queue,
} satisfies ExportedHandler<BenchEnv>;
