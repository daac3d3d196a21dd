import { DurableObject } from "cloudflare:workers";
import { offeredSubprotocols, SUBPROTOCOL } from "../auth/subprotocol";
import { ApiError } from "../platform/errors";
import { log } from "../platform/log";

/** The header through which the Worker tells a room or a line who is upgrading (never from a client). */
export const USER_HEADER = "x-secureconnect-user";

/** `{"type":"ping"}` exactly, as clients send it: answered `{"type":"pong"}` by the runtime itself. */
const PING = '{"type":"ping"}';
const PONG = '{"type":"pong"}';

/**
 * What a call room and a user's line share: a Durable Object whose clients are hibernatable
 * WebSockets, upgraded by the Worker after it authenticated the user.
 *
 * - `fetch` answers only an upgrade carrying {@link USER_HEADER} (the Worker's, never a client's);
 *   the subclass's {@link onUpgrade} accepts the server end or refuses with an {@link ApiError},
 *   answered as JSON before any upgrade. The `signal.v1` subprotocol is echoed when offered.
 * - `ping` is answered by the runtime's auto-response, without waking a hibernated object.
 * - A frame whose handling throws costs that frame only: the sender gets an `internal` error frame
 *   and the log says what happened; the object and every other socket go on.
 * - A close is reciprocated (else the client sees 1006), and close and error both reach
 *   {@link onSocketGone}.
 */
export abstract class SocketObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** Accepts `server` (with `ctx.acceptWebSocket`) for `userId`, or says why not. */
  protected abstract onUpgrade(server: WebSocket, userId: string): Promise<ApiError | undefined>;
  /** One frame from a client (after the auto-response, which answers exact pings itself). */
  protected abstract onFrame(ws: WebSocket, message: string | ArrayBuffer): Promise<void>;
  /** A socket closed by its client or broken. */
  protected abstract onSocketGone(ws: WebSocket): Promise<void>;

  override async fetch(request: Request): Promise<Response> {
    const userId = request.headers.get(USER_HEADER);
    if (!userId || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new ApiError("invalid_request", "expected an authenticated WebSocket upgrade").getResponse();
    }
    const pair = new WebSocketPair();
    const refusal = await this.onUpgrade(pair[1], userId);
    if (refusal) return refusal.getResponse();
    const echo = offeredSubprotocols(request.headers.get("sec-websocket-protocol")).includes(SUBPROTOCOL);
    return new Response(null, { status: 101, webSocket: pair[0], headers: echo ? { "sec-websocket-protocol": SUBPROTOCOL } : {} });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      await this.onFrame(ws, message);
    } catch (error) {
      // A bug must cost one frame, never the object: the sender hears of it, the log says what.
      log("error", "frame_failed", {
        object: this.constructor.name,
        error: error instanceof Error ? error.name : "unknown",
        message: error instanceof Error ? error.message : String(error),
      });
      if (isOpen(ws)) ws.send(JSON.stringify({ type: "error", code: "internal", message: "the server could not handle this frame" }));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Reciprocate the peer's Close frame to complete the handshake (else the client sees 1006).
    closeQuietly(ws, code, reason);
    await this.onSocketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.onSocketGone(ws);
  }
}

export const isOpen = (ws: WebSocket) => ws.readyState === WebSocket.OPEN;

/**
 * Closes a hibernatable socket without throwing: echoing a peer's close code where the runtime
 * allows it (1005, 1006 and 1015 are reserved for its own reports and throw if sent).
 */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  const safe = code === 1005 || code === 1006 || code === 1015 || code < 1000 ? 1000 : code;
  try {
    ws.close(safe, reason);
  } catch {
    // Already closing or closed.
  }
}
