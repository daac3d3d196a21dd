import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair, importJWK, importSPKI, jwtVerify } from "jose";
import { decryptWebPush, fromBase64url, newBrowserKeys, toBase64url, type BrowserKeys } from "./webpush-crypto.ts";

/** The host of the fake push service's endpoints (WEBPUSH_BASE_URL sends them to the fake). */
export const WEBPUSH_HOST = "push.example.test";

/**
 * Fake Google OAuth, FCM HTTP v1 (+ Instance ID topics) and APNs on 127.0.0.1, verifying what
 * the real ones verify: the RS256 service-account assertion (issuer, audience, scope, ≤ 1 h), the
 * FCM bearer token (issued for the project it sends to) and message shape, the APNs ES256
 * provider token (kid, iss, iat age) and a topic of the key's own app, headers and payload limits.
 * It knows two apps' credentials (the default one and `secondApp`), as two customers would have.
 *
 * Web Push (RFC 8030): `POST /_control/webpush/subscribe` plays a browser subscribing (new keys,
 * bound to the VAPID public key, or to `applicationServerKey`) and returns its PushSubscription,
 * at `https://push.example.test/sub/<id>`; the Worker's WEBPUSH_BASE_URL sends those to
 * `/webpush/<host>/<path>` here, where the VAPID JWT (ES256, `aud` the endpoint's origin, `exp`
 * ≤ 24 h, `sub`), `k`, TTL, Urgency, Topic and `Content-Encoding: aes128gcm` are checked and the
 * body is decrypted with the subscription's private key: the record's body is the message the
 * service worker would get. Unknown subscriptions answer 404, like a push service. Any target can be scripted to answer with the providers' real errors.
 * Keys are generated at start; nothing private is committed.
 *
 * Like the real ones, FCM's `validate_only: true` runs every check and delivers nothing (200,
 * `…/messages/fake_message_id`), and APNs refuses a device token it never issued (all zeros)
 * with 400 BadDeviceToken once the provider token passed.
 *
 * Control (for tests): POST /_control/script {target, responses: [{status, body?, retryAfter?, delayMs?}]}
 * queues answers, given after the fake's own checks, for a token (FCM token, `topic:<name>`,
 * APNs device token) or an OAuth endpoint (`token:<name>`). Google's token endpoint is served at
 * `/token` and at `/token/<name>`: a test that sets GOOGLE_TOKEN_URL to its own `/token/<name>`
 * scripts (and counts) its exchanges without touching other tests' (and has its own entry in the
 * Worker's access-token cache). GET /_control/records?target=... lists what was received.
 */
export interface FakePush {
  url: string;
  serviceAccount: string;
  apnsKey: string;
  apnsKeyId: string;
  apnsTeamId: string;
  bundleId: string;
  /** The VAPID key pair (base64url, as VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY) the push service checks JWTs with. */
  vapid: { publicKey: string; privateKey: string };
  /** A second app ("second": its own Firebase project, APNs key, team and bundle) as PUSH_APPS and its keys secret. */
  secondApp: { id: string; pushApps: string; keysVariable: string; keys: string; project: string; bundleId: string };
  close: () => Promise<void>;
}

export interface Scripted {
  status: number;
  body?: unknown;
  retryAfter?: string;
  /** Answer this much later (a slow or hanging provider). */
  delayMs?: number;
}

export interface Received {
  kind: "token" | "fcm" | "iid" | "apns" | "webpush";
  target: string;
  authorization: string;
  headers: Record<string, string>;
  body: unknown;
  status: number;
  /** A notification a device would have shown: a 200 to a real send (not validate_only). */
  delivered: boolean;
  at: number;
}

const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

/** One app's credentials as the fake knows them: a Firebase project and an APNs key of a team. */
interface FakeAccount {
  project: string;
  clientEmail: string;
  apnsKeyId: string;
  apnsTeamId: string;
  bundleId: string;
  rsa: CryptoKeyPair;
  ec: CryptoKeyPair;
  saPublic: CryptoKey;
  apnsPublic: CryptoKey;
}

async function fakeAccount(project: string, apnsKeyId: string, apnsTeamId: string, bundleId: string): Promise<FakeAccount> {
  const rsa = await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 });
  const ec = await generateKeyPair("ES256", { extractable: true });
  return {
    project,
    clientEmail: `push@${project}.iam.gserviceaccount.com`,
    apnsKeyId,
    apnsTeamId,
    bundleId,
    rsa,
    ec,
    saPublic: await importSPKI(await exportSPKI(rsa.publicKey), "RS256"),
    apnsPublic: await importSPKI(await exportSPKI(ec.publicKey), "ES256"),
  };
}

export async function startFakePush(options: { latencyMs?: number } = {}): Promise<FakePush> {
  const main = await fakeAccount("fake-project", "ABC123DEFG", "TEAM123456", "com.example.calls");
  const second = await fakeAccount("second-project", "SECOND1234", "TEAM654321", "com.example.second");
  const accounts = [main, second];
  const { apnsKeyId, apnsTeamId, bundleId } = main;
  // Targets of the second project's topics carry its name, so tests of the default app's topics see only their own.
  const topicTarget = (account: FakeAccount, name: string) => (account === main ? name : `${account.project}/${name}`);

  // Web Push: the application server key pair the Worker is configured with, and the subscriptions "browsers" made.
  const vapidPair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const vapid = {
    publicKey: toBase64url(new Uint8Array((await crypto.subtle.exportKey("raw", vapidPair.publicKey)) as ArrayBuffer)),
    privateKey: String(((await crypto.subtle.exportKey("jwk", vapidPair.privateKey)) as JsonWebKey).d),
  };
  const subscriptions = new Map<string, { keys: BrowserKeys; applicationServerKey: string }>();
  const scripts = new Map<string, Scripted[]>();
  const records: Received[] = [];
  // Access token → the account whose service account it was issued to.
  const accessTokens = new Map<string, FakeAccount>();
  let url = "";

  const answer = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, delayMs = 0) => {
    const send = () => {
      if (response.destroyed) return;
      response.writeHead(status, { "content-type": "application/json", ...headers });
      response.end(body === undefined ? "" : JSON.stringify(body));
    };
    const wait = (options.latencyMs ?? 0) + delayMs;
    if (wait) setTimeout(send, wait);
    else send();
  };
  const scripted = (target: string) => scripts.get(target)?.shift();
  const record = (entry: Omit<Received, "at" | "delivered">, delivered = false) => records.push({ ...entry, delivered, at: Date.now() });
  /** Gives the next scripted answer for `target` through `reply`, if there is one. */
  const replayed = (target: string, reply: (status: number, payload: unknown, extra: Record<string, string>, delayMs?: number) => void) => {
    const next = scripted(target);
    if (next) reply(next.status, next.body ?? {}, next.retryAfter ? { "retry-after": next.retryAfter } : {}, next.delayMs);
    return next !== undefined;
  };
  const fcmError = (status: number, errorCode: string, message: string) => ({
    error: { code: status, message, status: errorCode, details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] },
  });

  async function handle(request: IncomingMessage, response: ServerResponse, raw: string, bytes: Buffer) {
    const path = new URL(request.url ?? "/", "http://fake").pathname;
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    const authorization = headers.authorization ?? "";

    if (request.method === "POST" && path === "/_control/script") {
      const { target, responses } = JSON.parse(raw) as { target: string; responses: Scripted[] };
      scripts.set(target, [...(scripts.get(target) ?? []), ...responses]);
      return answer(response, 200, { ok: true });
    }
    if (request.method === "GET" && path === "/_control/records") {
      const target = new URL(request.url ?? "/", "http://fake").searchParams.get("target");
      return answer(response, 200, records.filter((entry) => target === null || entry.target === target));
    }

    const tokenEndpoint = /^\/token(?:\/([\w-]+))?$/.exec(path);
    if (request.method === "POST" && tokenEndpoint) {
      const target = tokenEndpoint[1] ? `token:${tokenEndpoint[1]}` : "token";
      const form = new URLSearchParams(raw);
      let account: FakeAccount | undefined;
      try {
        if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") throw new Error("grant_type");
        const assertion = form.get("assertion") ?? "";
        account = accounts.find((candidate) => candidate.clientEmail === decodeJwt(assertion).iss);
        if (!account) throw new Error("unknown service account");
        // Google wants the token endpoint's own URL as the audience.
        const { payload } = await jwtVerify(assertion, account.saPublic, {
          algorithms: ["RS256"],
          issuer: account.clientEmail,
          audience: `${url}${path}`,
          requiredClaims: ["iat", "exp"],
        });
        if (payload.exp! - payload.iat! > 3600) throw new Error("lifetime over 1 h");
        if (!String(payload.scope ?? "").split(" ").includes(FCM_SCOPE)) throw new Error("scope");
      } catch (error) {
        record({ kind: "token", target, authorization, headers, body: { error: String(error) }, status: 400 });
        return answer(response, 400, { error: "invalid_grant", error_description: String(error) });
      }
      const refused = replayed(target, (status, payload, extra, delayMs) => {
        record({ kind: "token", target, authorization, headers, body: payload, status });
        answer(response, status, payload, extra, delayMs);
      });
      if (refused) return;
      const token = `ya29.fake-${randomUUID()}`;
      accessTokens.set(token, account);
      record({ kind: "token", target, authorization, headers, body: {}, status: 200 });
      return answer(response, 200, { access_token: token, expires_in: 3599, token_type: "Bearer" });
    }

    const fcmSend = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path);
    if (request.method === "POST" && fcmSend) {
      const body = JSON.parse(raw) as { message?: Record<string, unknown>; validate_only?: unknown };
      const message = body.message ?? {};
      const sender = accessTokens.get(authorization.replace(/^Bearer /, ""));
      const projectOf = accounts.find((account) => account.project === fcmSend[1]) ?? main;
      const target = typeof message.token === "string" ? message.token : topicTarget(projectOf, `topic:${String(message.topic)}`);
      // validate_only: every check below still runs (scripted answers included: FCM reports an
      // unregistered token to a validation too), and a success delivers nothing.
      const validateOnly = body.validate_only === true;
      const reply = (status: number, payload: unknown, extra: Record<string, string> = {}, delayMs = 0) => {
        record({ kind: "fcm", target, authorization, headers, body, status }, status === 200 && !validateOnly);
        return answer(response, status, payload, extra, delayMs);
      };
      if (!sender) return reply(401, fcmError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."));
      // A token of one project's service account has no permission on another project.
      if (fcmSend[1] !== sender.project) return reply(403, fcmError(403, "PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied"));
      const problem = fcmRequestProblem(body) ?? fcmShapeProblem(message, raw);
      if (problem) return reply(400, fcmError(400, "INVALID_ARGUMENT", problem));
      if (replayed(target, reply)) return;
      return reply(200, { name: `projects/${sender.project}/messages/${validateOnly ? "fake_message_id" : randomUUID()}` });
    }

    const iid = /^\/iid\/v1:(batchAdd|batchRemove)$/.exec(path);
    if (request.method === "POST" && iid) {
      const body = JSON.parse(raw) as { to?: string; registration_tokens?: string[] };
      const sender = accessTokens.get(authorization.replace(/^Bearer /, ""));
      const ok = sender !== undefined && headers.access_token_auth === "true";
      const valid = typeof body.to === "string" && body.to.startsWith("/topics/") && Array.isArray(body.registration_tokens) && body.registration_tokens.length <= 1000;
      const status = !ok ? 401 : !valid ? 400 : 200;
      record({ kind: "iid", target: topicTarget(sender ?? main, body.to ?? ""), authorization, headers, body: { ...body, action: iid[1] }, status });
      if (status !== 200) return answer(response, status, { error: status === 401 ? "Unauthorized" : "InvalidRequest" });
      return answer(response, 200, { results: body.registration_tokens!.map((token) => (scripted(`iid:${token}`)?.body as object) ?? {}) });
    }

    const apns = /^\/3\/device\/([^/]+)$/.exec(path);
    if (request.method === "POST" && apns) {
      const target = apns[1]!;
      const reply = (status: number, payload: unknown, extra: Record<string, string> = {}, delayMs = 0) => {
        record({ kind: "apns", target, authorization, headers, body: raw ? JSON.parse(raw) : null, status }, status === 200);
        return answer(response, status, payload, { "apns-id": randomUUID(), ...extra }, delayMs);
      };
      const jwt = authorization.replace(/^bearer /, "");
      let account: FakeAccount | undefined;
      try {
        account = accounts.find((candidate) => candidate.apnsKeyId === decodeProtectedHeader(jwt).kid);
        if (!account) return reply(403, { reason: "InvalidProviderToken" });
        const { payload } = await jwtVerify(jwt, account.apnsPublic, { algorithms: ["ES256"], issuer: account.apnsTeamId, requiredClaims: ["iat"] });
        const age = Date.now() / 1000 - payload.iat!;
        if (age > 3600) return reply(403, { reason: "ExpiredProviderToken" });
        if (age < -60) return reply(403, { reason: "InvalidProviderToken" });
      } catch {
        return reply(403, { reason: "InvalidProviderToken" });
      }
      // A key signs for its own team's bundles only.
      const problem = apnsProblem(headers, raw, target, account.bundleId);
      if (problem) return reply(problem.status, { reason: problem.reason });
      if (replayed(target, reply)) return;
      // A well-formed token APNs never issued (all zeros): refused once the request is authenticated.
      if (/^0+$/.test(target)) return reply(400, { reason: "BadDeviceToken" });
      return reply(200, undefined);
    }
    if (request.method === "POST" && path === "/_control/webpush/subscribe") {
      // A browser subscribing: new keys; the subscription is bound to the application server key it names.
      const { applicationServerKey } = (raw ? JSON.parse(raw) : {}) as { applicationServerKey?: string };
      const keys = await newBrowserKeys();
      const endpoint = `https://${WEBPUSH_HOST}/sub/${randomUUID()}`;
      subscriptions.set(endpoint, { keys, applicationServerKey: applicationServerKey ?? vapid.publicKey });
      return answer(response, 200, { endpoint, expirationTime: null, keys: { p256dh: toBase64url(keys.publicKey), auth: toBase64url(keys.auth) } });
    }

    const webpush = /^\/webpush\/([^/]+)(\/.*)$/.exec(path);
    if (request.method === "POST" && webpush) {
      const endpoint = `https://${webpush[1]}${webpush[2]}`;
      const reply = (status: number, payload: unknown, extra: Record<string, string> = {}, delayMs = 0) => {
        record({ kind: "webpush", target: endpoint, authorization, headers, body: payload, status }, status === 201);
        return answer(response, status, status === 201 ? undefined : payload, extra, delayMs);
      };
      const problem = await webPushProblem(endpoint, headers, bytes);
      if (problem) return reply(problem.status, { error: problem.error });
      if (replayed(endpoint, reply)) return;
      const subscription = subscriptions.get(endpoint)!;
      let message: unknown;
      try {
        message = JSON.parse(new TextDecoder().decode(await decryptWebPush(new Uint8Array(bytes), subscription.keys)));
      } catch (error) {
        return reply(400, { error: `cannot decrypt with the subscription's keys: ${String(error)}` });
      }
      return reply(201, message, { location: `https://${WEBPUSH_HOST}/message/${randomUUID()}` });
    }
    return answer(response, 404, { error: "not found" });
  }

  /** What a push service refuses (RFC 8030, 8292, 8291), before it would store the message. */
  async function webPushProblem(endpoint: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; error: string } | undefined> {
    const subscription = subscriptions.get(endpoint);
    if (!subscription) return { status: 404, error: "no such subscription" };
    const vapidAuth = /^vapid t=([^,\s]+), k=([A-Za-z0-9_-]+)$/.exec(headers.authorization ?? "");
    if (!vapidAuth) return { status: 401, error: "Authorization must be vapid t=<jwt>, k=<key>" };
    const [, jwt, key] = vapidAuth as unknown as [string, string, string];
    // The key must be the one the subscription was made with (FCM answers 403 otherwise).
    if (key !== subscription.applicationServerKey) return { status: 403, error: "VAPID key does not match the subscription's applicationServerKey" };
    try {
      const point = fromBase64url(key);
      const publicKey = await importJWK({ kty: "EC", crv: "P-256", x: toBase64url(point.slice(1, 33)), y: toBase64url(point.slice(33, 65)) }, "ES256");
      const { payload, protectedHeader } = await jwtVerify(jwt, publicKey, { algorithms: ["ES256"], audience: new URL(endpoint).origin, requiredClaims: ["exp", "sub"] });
      if (protectedHeader.alg !== "ES256") return { status: 401, error: "JWT must be ES256" };
      if (payload.exp! > Date.now() / 1000 + 24 * 3600) return { status: 401, error: "exp more than 24 hours ahead" };
      if (!/^(mailto:|https:)/.test(String(payload.sub))) return { status: 401, error: "sub must be mailto: or https:" };
    } catch (error) {
      return { status: 401, error: `VAPID JWT refused: ${String(error)}` };
    }
    if (!/^\d+$/.test(headers.ttl ?? "")) return { status: 400, error: "TTL header required (whole seconds)" };
    if (headers.urgency !== undefined && !["very-low", "low", "normal", "high"].includes(headers.urgency)) return { status: 400, error: "Urgency must be very-low, low, normal or high" };
    if (headers.topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(headers.topic)) return { status: 400, error: "Topic is at most 32 base64url characters" };
    if (headers["content-encoding"] !== "aes128gcm") return { status: 415, error: "Content-Encoding must be aes128gcm" };
    if (body.length > 4096) return { status: 413, error: "body over 4096 bytes" };
    return undefined;
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const bytes = Buffer.concat(chunks);
      handle(request, response, bytes.toString("utf8"), bytes).catch((error: unknown) => answer(response, 500, { error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const serviceAccountOf = async (account: FakeAccount) => ({
    type: "service_account",
    project_id: account.project,
    private_key_id: "fake",
    private_key: await exportPKCS8(account.rsa.privateKey),
    client_email: account.clientEmail,
    token_uri: `${url}/token`,
  });
  return {
    url,
    serviceAccount: JSON.stringify(await serviceAccountOf(main)),
    apnsKey: await exportPKCS8(main.ec.privateKey),
    apnsKeyId,
    apnsTeamId,
    bundleId,
    vapid,
    secondApp: {
      id: "second",
      pushApps: JSON.stringify({ second: { fcm: true, apns: { keyId: second.apnsKeyId, teamId: second.apnsTeamId, bundleId: second.bundleId } } }),
      keysVariable: "PUSH_APP_KEYS_SECOND",
      keys: JSON.stringify({ fcmServiceAccount: await serviceAccountOf(second), apnsKey: await exportPKCS8(second.ec.privateKey) }),
      project: second.project,
      bundleId: second.bundleId,
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The request around the message: FCM's JSON mapping refuses unknown fields and mistyped ones. */
function fcmRequestProblem(body: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(body).find((key) => key !== "message" && key !== "validate_only");
  if (unknown) return `Invalid JSON payload received. Unknown name "${unknown}": Cannot find field.`;
  if ("validate_only" in body && typeof body.validate_only !== "boolean") return `Invalid value at 'validate_only' (TYPE_BOOL), ${JSON.stringify(body.validate_only)}`;
  if (typeof body.message !== "object" || body.message === null) return "message is required";
  return undefined;
}

function fcmShapeProblem(message: Record<string, unknown>, raw: string): string | undefined {
  if (Buffer.byteLength(raw) > 4096) return "Message is too big";
  const targets = ["token", "topic", "condition"].filter((key) => key in message);
  if (targets.length !== 1) return "exactly one of token, topic, condition";
  if (typeof message.token === "string" && !/^[A-Za-z0-9_:\-.]{64,600}$/.test(message.token)) return "The registration token is not a valid FCM registration token";
  const data = message.data as Record<string, unknown> | undefined;
  if (data && Object.values(data).some((value) => typeof value !== "string")) return "data values must be strings";
  const android = message.android as { priority?: string; ttl?: string } | undefined;
  if (android?.priority && !["high", "normal"].includes(android.priority)) return "android.priority";
  if (android?.ttl && !/^\d+(\.\d+)?s$/.test(android.ttl)) return "android.ttl";
  return undefined;
}

function apnsProblem(headers: Record<string, string>, raw: string, token: string, bundleId: string): { status: number; reason: string } | undefined {
  if (!/^[0-9a-fA-F]{64,200}$/.test(token)) return { status: 400, reason: "BadDeviceToken" };
  const pushType = headers["apns-push-type"];
  const topic = headers["apns-topic"];
  if (!["alert", "background", "voip"].includes(pushType ?? "")) return { status: 400, reason: "InvalidPushType" };
  if (!topic) return { status: 400, reason: "MissingTopic" };
  if (topic !== (pushType === "voip" ? `${bundleId}.voip` : bundleId)) return { status: 400, reason: "TopicDisallowed" };
  if (pushType === "background" && headers["apns-priority"] !== "5") return { status: 400, reason: "BadPriority" };
  if (!["5", "10"].includes(headers["apns-priority"] ?? "10")) return { status: 400, reason: "BadPriority" };
  if (headers["apns-expiration"] && !/^\d+$/.test(headers["apns-expiration"])) return { status: 400, reason: "BadExpirationDate" };
  if ((headers["apns-collapse-id"] ?? "").length > 64) return { status: 400, reason: "BadCollapseId" };
  if (Buffer.byteLength(raw) > (pushType === "voip" ? 5120 : 4096)) return { status: 413, reason: "PayloadTooLarge" };
  let payload: { aps?: Record<string, unknown> };
  try {
    payload = JSON.parse(raw) as typeof payload;
  } catch {
    return { status: 400, reason: "PayloadEmpty" };
  }
  if (!payload.aps) return { status: 400, reason: "PayloadEmpty" };
  if (pushType === "background" && payload.aps["content-available"] !== 1) return { status: 400, reason: "BadPayload" };
  if (pushType === "alert" && !payload.aps.alert) return { status: 400, reason: "BadPayload" };
  return undefined;
}
