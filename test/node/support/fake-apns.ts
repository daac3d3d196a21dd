import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createSecureServer, type Http2Session, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { decodeProtectedHeader, exportPKCS8, generateKeyPair, jwtVerify } from "jose";

/**
 * A fake APNs that, like Apple's, speaks HTTP/2 only (TLS with ALPN h2, no HTTP/1.1 fallback) on
 * 127.0.0.1, with a self-signed certificate for api.push.apple.com and api.sandbox.push.apple.com
 * made by the `openssl` CLI. It checks what APNs checks — `:method`, the `/3/device/<hex>` path,
 * the ES256 provider token (signature, `kid`, `iss`, age), `apns-topic`, `apns-push-type`, the
 * JSON payload and its size — and answers as APNs does: 200 with `apns-id`, or
 * `{"reason": ...}` with the status APNs uses. `script` queues other answers for a token.
 */
export interface FakeApns {
  /** host:port, for the relay's server lines. */
  address: string;
  /** The certificate the relay must trust (it is its own CA). */
  caFile: string;
  key: string;
  keyId: string;
  teamId: string;
  bundleId: string;
  received: ApnsReceived[];
  script: (token: string, answer: { status: number; reason: string; timestamp?: number }) => void;
  close: () => Promise<void>;
}

export interface ApnsReceived {
  /** ALPN of the TLS session and whether the request came as an HTTP/2 stream. */
  alpn: string | false | undefined;
  token: string;
  /** Every header as received, pseudo-headers (`:method`, `:path`, `:authority`) included. */
  headers: Record<string, string>;
  /** `kid` and `iss` of the verified provider token. */
  providerToken?: { kid?: string; iss?: string };
  payload: unknown;
  status: number;
  reason?: string;
}

const run = promisify(execFile);
const HOSTS = ["api.push.apple.com", "api.sandbox.push.apple.com"];

export async function startFakeApns(): Promise<FakeApns> {
  const dir = mkdtempSync(join(tmpdir(), "sce-fake-apns-"));
  const [keyFile, caFile] = [join(dir, "key.pem"), join(dir, "cert.pem")];
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", `/CN=${HOSTS[0]}`, "-addext", `subjectAltName=${HOSTS.map((host) => `DNS:${host}`).join(",")}`,
    "-keyout", keyFile, "-out", caFile,
  ], { timeout: 20_000 });

  const keyId = "RELAYKEY01";
  const teamId = "RELAYTEAM1";
  const bundleId = "com.example.relay";
  const signing = await generateKeyPair("ES256", { extractable: true });
  const received: ApnsReceived[] = [];
  const scripts = new Map<string, { status: number; reason: string; timestamp?: number }>();
  const sessions = new Set<Http2Session>();

  const server = createSecureServer({ key: readFileSync(keyFile), cert: readFileSync(caFile), allowHTTP1: false });
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      void judge(headers, Buffer.concat(chunks).toString("utf8")).then(({ status, reason, record }) => {
        received.push({ alpn: stream.session?.alpnProtocol, ...record, status, ...(reason ? { reason } : {}) });
        const scripted = scripts.get(record.token);
        const body = reason ? JSON.stringify({ reason, ...(scripted?.timestamp ? { timestamp: scripted.timestamp } : {}) }) : undefined;
        const apnsId = typeof headers["apns-id"] === "string" ? headers["apns-id"] : randomUUID();
        if (stream.destroyed) return;
        stream.respond({ ":status": status, "apns-id": apnsId, ...(body ? { "content-type": "application/json" } : {}) }, { endStream: !body });
        if (body) stream.end(body);
      });
    });
  });

  async function judge(headers: IncomingHttpHeaders, raw: string) {
    const flat = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
    const token = /^\/3\/device\/([^/?]+)$/.exec(flat[":path"] ?? "")?.[1] ?? "";
    const record: Omit<ApnsReceived, "alpn" | "status" | "reason"> = { token, headers: flat, payload: undefined };
    const answer = (status: number, reason?: string) => ({ status, reason, record });
    if (flat[":method"] !== "POST") return answer(405, "MethodNotAllowed");
    if (!token) return answer(404, "BadPath");
    if (!HOSTS.includes(flat[":authority"] ?? "")) return answer(400, "BadRequest");
    const jwt = /^bearer (.+)$/.exec(flat.authorization ?? "")?.[1];
    if (!jwt) return answer(403, "MissingProviderToken");
    try {
      const { kid } = decodeProtectedHeader(jwt);
      const { payload } = await jwtVerify(jwt, signing.publicKey, { algorithms: ["ES256"], requiredClaims: ["iss", "iat"] });
      record.providerToken = { kid, iss: payload.iss };
      if (kid !== keyId || payload.iss !== teamId) return answer(403, "InvalidProviderToken");
      if (Date.now() / 1000 - payload.iat! > 3600) return answer(403, "ExpiredProviderToken");
    } catch {
      return answer(403, "InvalidProviderToken");
    }
    if (!/^[0-9a-fA-F]{64,200}$/.test(token)) return answer(400, "BadDeviceToken");
    const pushType = flat["apns-push-type"] ?? "";
    if (!["alert", "background", "voip"].includes(pushType)) return answer(400, "InvalidPushType");
    if (!flat["apns-topic"]) return answer(400, "MissingTopic");
    if (flat["apns-topic"] !== (pushType === "voip" ? `${bundleId}.voip` : bundleId)) return answer(400, "TopicDisallowed");
    if (Buffer.byteLength(raw) > (pushType === "voip" ? 5120 : 4096)) return answer(413, "PayloadTooLarge");
    try {
      record.payload = JSON.parse(raw);
    } catch {
      return answer(400, "BadPayload");
    }
    if (typeof (record.payload as { aps?: unknown } | null)?.aps !== "object") return answer(400, "PayloadEmpty");
    const scripted = scripts.get(token);
    return scripted ? answer(scripted.status, scripted.reason) : answer(200);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    caFile,
    key: await exportPKCS8(signing.privateKey),
    keyId,
    teamId,
    bundleId,
    received,
    script: (token, answer) => scripts.set(token, answer),
    close: async () => {
      // The relay keeps its HTTP/2 connections open for reuse: end them, or close never returns.
      for (const session of sessions) session.destroy();
      await Promise.race([new Promise<void>((resolve) => server.close(() => resolve())), new Promise((resolve) => setTimeout(resolve, 2000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
