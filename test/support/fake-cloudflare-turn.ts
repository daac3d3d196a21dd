import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake of Cloudflare Realtime TURN's credentials API on 127.0.0.1, checking what the real one
 * checks: `POST /v1/turn/keys/<key id>/credentials/generate-ice-servers`, `Authorization: Bearer
 * <API token>`, a JSON body `{ttl, customIdentifier?}` with a ttl of 1 s to 48 h. It answers as
 * the real one does: 201 with `{"iceServers": [...]}` (STUN, then TURN with a fresh username
 * and credential, port-53 URLs included), 401 for a wrong token, 400 for a bad body, 404 for an
 * unknown path. A key id chooses a failure, for tests of the fallback: `fail-500-*` answers 500,
 * `slow-*` answers after 5 s, `bad-shape-*` answers 201 without iceServers.
 *
 * Control: GET /_control/requests?key=<key id> lists what that key id received.
 */
export interface FakeCloudflareTurn {
  url: string;
  apiToken: string;
  close: () => Promise<void>;
}

export interface ReceivedTurnRequest {
  keyId: string;
  authorized: boolean;
  body: unknown;
  status: number;
}

const PATH = /^\/v1\/turn\/keys\/([^/]+)\/credentials\/generate-ice-servers$/;

export async function startFakeCloudflareTurn(): Promise<FakeCloudflareTurn> {
  const apiToken = randomBytes(24).toString("hex");
  const received: ReceivedTurnRequest[] = [];
  const server = createServer((request, response) => void handle(request, response));

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", "http://fake");
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.method === "GET" && url.pathname === "/_control/requests") {
      return reply(200, received.filter((entry) => entry.keyId === url.searchParams.get("key")));
    }
    const match = PATH.exec(url.pathname);
    if (!match || request.method !== "POST") return reply(404, { success: false, errors: [{ code: 7003, message: "No route for that URI" }] });
    const keyId = decodeURIComponent(match[1]!);
    const authorized = request.headers.authorization === `Bearer ${apiToken}`;
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const record = (status: number) => received.push({ keyId, authorized, body, status });
    if (!authorized) {
      record(401);
      return reply(401, { success: false, errors: [{ code: 10000, message: "Authentication error" }] });
    }
    const { ttl, customIdentifier } = (body ?? {}) as { ttl?: unknown; customIdentifier?: unknown };
    const badBody =
      !request.headers["content-type"]?.startsWith("application/json") ||
      typeof ttl !== "number" ||
      !Number.isInteger(ttl) ||
      ttl < 1 ||
      ttl > 172_800 ||
      (customIdentifier !== undefined && typeof customIdentifier !== "string");
    if (badBody) {
      record(400);
      return reply(400, { success: false, errors: [{ code: 10001, message: "ttl must be a whole number of seconds up to 172800" }] });
    }
    if (keyId.startsWith("fail-500-")) {
      record(500);
      return reply(500, { success: false, errors: [{ code: 10002, message: "Internal error" }] });
    }
    if (keyId.startsWith("slow-")) await new Promise((done) => setTimeout(done, 5_000));
    record(201);
    if (keyId.startsWith("bad-shape-")) return reply(201, { result: "unexpected" });
    reply(201, {
      iceServers: [
        { urls: ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"] },
        {
          urls: [
            "turn:turn.cloudflare.com:3478?transport=udp",
            "turn:turn.cloudflare.com:53?transport=udp",
            "turn:turn.cloudflare.com:3478?transport=tcp",
            "turn:turn.cloudflare.com:80?transport=tcp",
            "turns:turn.cloudflare.com:5349?transport=tcp",
            "turns:turn.cloudflare.com:443?transport=tcp",
          ],
          username: randomBytes(32).toString("hex"),
          credential: randomBytes(32).toString("hex"),
        },
      ],
    });
  }

  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiToken,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
