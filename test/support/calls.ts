import { exports } from "cloudflare:workers";
import { SignalClient } from "./signal-client";
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

/** Opens `/v1/calls/{callId}/ws` on the Worker as `userId`, by Authorization header or subprotocol. */
export async function connect(callId: string, userId: string, options: { subprotocol?: boolean } = {}): Promise<SignalClient> {
  const response = await upgrade(callId, userId, options);
  if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade → ${response.status} ${await response.text()}`);
  response.webSocket.accept();
  return new SignalClient(response.webSocket, response.headers.get("sec-websocket-protocol"));
}

/** The raw upgrade response, for tests of refusals. */
export async function upgrade(callId: string, userId: string | undefined, options: { subprotocol?: boolean; token?: string } = {}): Promise<Response> {
  const token = options.token ?? (userId ? await tokenFor(userId) : undefined);
  const headers: Record<string, string> = { upgrade: "websocket" };
  if (token && options.subprotocol) headers["sec-websocket-protocol"] = `signal.v1, bearer.${token}`;
  else if (token) headers.authorization = `Bearer ${token}`;
  return exports.default.fetch(`http://edge.test/v1/calls/${callId}/ws`, { headers });
}
