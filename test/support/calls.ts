import { exports } from "cloudflare:workers";
import { authHeader, tokenFor } from "./tokens";

/** A request to the real Worker entrypoint (routing, auth, Durable Objects), as `userId`. */
export async function api(userId: string | undefined, method: string, path: string, body?: unknown): Promise<Response> {
  return exports.default.fetch(`http://edge.test${path}`, {
    method,
    headers: { ...(userId ? await authHeader(userId) : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
}

export interface CreatedCall {
  callId: string;
  state: string;
  wsPath: string;
  iceServers: unknown[];
  expiresAt: string;
}

/** `POST /v1/calls`; fails the test unless it is a 201. */
export async function placeCall(caller: string, callees: string[], media: "audio" | "video" = "video"): Promise<CreatedCall> {
  const response = await api(caller, "POST", "/v1/calls", { callees, media });
  if (response.status !== 201) throw new Error(`POST /v1/calls → ${response.status} ${await response.text()}`);
  return (await response.json()) as CreatedCall;
}

/** A unique user id per test, so tests never share state. */
export const user = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}`;

type Frame = { type: string; [key: string]: unknown };

/**
 * A signaling client over a real WebSocket to the Worker. Frames are buffered in arrival order;
 * `next()` takes the next one (optionally of a type, skipping nothing silently: a different
 * type is an error), waiting at most `timeoutMs`.
 */
export class SignalClient {
  readonly frames: Frame[] = [];
  private waiter?: () => void;
  closed?: { code: number; reason: string };

  private constructor(readonly ws: WebSocket, readonly protocol: string | null) {
    ws.addEventListener("message", (event) => {
      this.frames.push(JSON.parse(event.data as string) as Frame);
      this.waiter?.();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.waiter?.();
    });
  }

  /** Opens `/v1/calls/{callId}/ws` as `userId`, by Authorization header or by subprotocol. */
  static async connect(callId: string, userId: string, options: { subprotocol?: boolean } = {}): Promise<SignalClient> {
    const response = await SignalClient.upgrade(callId, userId, options);
    if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade → ${response.status} ${await response.text()}`);
    response.webSocket.accept();
    return new SignalClient(response.webSocket, response.headers.get("sec-websocket-protocol"));
  }

  /** The raw upgrade response, for tests of refusals. */
  static async upgrade(callId: string, userId: string | undefined, options: { subprotocol?: boolean; token?: string } = {}): Promise<Response> {
    const token = options.token ?? (userId ? await tokenFor(userId) : undefined);
    const headers: Record<string, string> = { upgrade: "websocket" };
    if (token && options.subprotocol) headers["sec-websocket-protocol"] = `signal.v1, bearer.${token}`;
    else if (token) headers.authorization = `Bearer ${token}`;
    return exports.default.fetch(`http://edge.test/v1/calls/${callId}/ws`, { headers });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  async next<T extends Frame = Frame>(type?: string, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${type ?? "a frame"}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type ?? "frame"} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const frame = this.frames.shift()!;
    if (type && frame.type !== type) throw new Error(`expected a ${type} frame, got ${JSON.stringify(frame)}`);
    return frame as T;
  }

  /** Resolves with the close code once the server closed the socket (bounded). */
  async closure(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`socket not closed within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.closed;
  }

  close(): void {
    try {
      this.ws.close(1000, "bye");
    } catch {
      // already closed
    }
  }
}
