import type { Device } from "../devices/device";
import { apnsProviderToken } from "./apns-auth";
import type { ApnsConfig } from "./config";
import { classifyApns, describe, networkFailure, type DeliveryOutcome } from "./outcome";
import { apnsRequest, type ApnsRequest } from "./payloads";
import { buildPayload, logProvider, type Provider, type ProviderProbe } from "./providers";

const PRODUCTION = "https://api.push.apple.com";
const SANDBOX = "https://api.sandbox.push.apple.com";

/** APNs as a {@link Provider} of `app`: device sends (VoIP to the VoIP token) and the push check's probe. */
export function apnsProvider(env: Env, app: string, apns: ApnsConfig, fetcher: typeof fetch): Provider {
  return {
    name: "apns",
    mode: "ready",
    async send(notification, device) {
      const request = buildPayload(() => apnsRequest(notification, device, apns.bundleId), device.token);
      if ("status" in request) return request;
      return { ...(await sendApns(env, apns, device, request, fetcher)), token: request.token };
    },
    probe: (bounded, options) => probeApns(env, app, apns, bounded, options.apnsEnvironment),
  };
}

/** APNs without credentials: log lines naming the token a real send would address. */
export const apnsLogProvider = (): Provider => logProvider("apns", (notification, device) => apnsRequest(notification, device, "log.only"));

/** 32 zero bytes: well-formed, and never a token APNs issued. */
export const PROBE_APNS_TOKEN = "0".repeat(64);

/**
 * The push check for APNs: an alert to a device token APNs never issues (all zeros) through the
 * same {@link sendApns} path real pushes take (provider token from its Durable Object,
 * `APNS_RELAY_URL` when set). APNs checks the provider token (403 Invalid/ExpiredProviderToken)
 * before the device token, so only `400 BadDeviceToken` proves that TLS, HTTP/2 (or the relay)
 * and the provider token work; any other answer, a 200 included, is a failure. The topic is
 * proven only as far as APNs checks it before the device token, which Apple does not document.
 */
async function probeApns(env: Env, app: string, apns: ApnsConfig, fetcher: typeof fetch, environment: "production" | "sandbox"): ReturnType<ProviderProbe> {
  const now = new Date().toISOString();
  const probe: Device = { deviceId: "push-check", userId: "push-check", provider: "apns", token: PROBE_APNS_TOKEN, platform: "ios", environment, app, createdAt: now, updatedAt: now };
  const request: ApnsRequest = {
    token: PROBE_APNS_TOKEN,
    // Expiration 0: APNs tries once and never stores it (there is nobody to store it for).
    headers: { "apns-push-type": "alert", "apns-topic": apns.bundleId, "apns-priority": "5", "apns-expiration": "0" },
    payload: JSON.stringify({ aps: { alert: { title: "SecureConnect push check" } } }),
  };
  const where = `APNs (${apns.relay ? `${environment} via APNS_RELAY_URL` : apns.baseUrl ? "APNS_BASE_URL" : environment})`;
  // The last answer as it came (status and APNs reason), for the operator: the outcome alone
  // says "refused a freshly minted provider token" but not what APNs said.
  let last = "";
  const recording: typeof fetch = async (input, init) => {
    const response = await fetcher(input, init);
    const { reason } = ((await response.clone().json().catch(() => null)) ?? {}) as { reason?: unknown };
    last = `${response.status}${typeof reason === "string" ? ` ${reason}` : ""}`;
    return response;
  };
  const outcome = await sendApns(env, apns, probe, request, recording);
  // Delivery reads BadDeviceToken as "remove this token"; for the probe it is the one answer
  // that says APNs authenticated the request and then looked at the device token.
  if (outcome.status === "dead" && outcome.reason === "BadDeviceToken") {
    return { ok: true, detail: `${where}: provider token accepted; probe device token refused as expected (${last || "BadDeviceToken"})` };
  }
  if (outcome.status === "delivered") {
    return { ok: false, detail: `${where}: a push to an all-zero device token was accepted; expected 400 BadDeviceToken (is the endpoint really APNs?)` };
  }
  const explained = `${outcome.status}: ${outcome.reason}`;
  return { ok: false, detail: `${where}: expected 400 BadDeviceToken, got ${last ? `${last} (${explained})` : explained}` };
}

/** Carries `APNS_RELAY_SECRET` to the relay, which refuses a request without it and removes it. */
export const RELAY_SECRET_HEADER = "x-relay-secret";

/**
 * Where a push to `token` goes, and the headers that place needs: Apple's host for the device's
 * environment; `APNS_BASE_URL` (a fake) for both; or the relay (`APNS_RELAY_URL`), which learns
 * the environment from the path (`/sandbox/3/device/...` or `/3/device/...`) and the secret from
 * {@link RELAY_SECRET_HEADER}.
 *
 * @example
 * apnsEndpoint(apns, "sandbox", token).url; // https://api.sandbox.push.apple.com/3/device/<token>
 */
export function apnsEndpoint(apns: ApnsConfig, environment: Device["environment"], token: string): { url: string; headers: Record<string, string> } {
  const sandbox = environment === "sandbox";
  if (apns.relay) {
    return { url: `${apns.relay.url}${sandbox ? "/sandbox" : ""}/3/device/${token}`, headers: { [RELAY_SECRET_HEADER]: apns.relay.secret } };
  }
  return { url: `${apns.baseUrl ?? (sandbox ? SANDBOX : PRODUCTION)}/3/device/${token}`, headers: {} };
}

/**
 * Sends one APNs request to the device's environment ({@link apnsEndpoint}). A 403
 * Expired/InvalidProviderToken gets one new provider token and one more try.
 *
 * APNs speaks HTTP/2 only. Whether a deployed Worker's fetch negotiates HTTP/2 with Apple is
 * unverified (one public report says such requests never answered), so `APNS_RELAY_URL` can send
 * through the HTTP/1.1 → HTTP/2 relay on the TURN hosts instead (docs/APNS-RELAY.md).
 * `wrangler dev` speaks HTTP/1.1 only: local sends work against a fake at `APNS_BASE_URL`, or
 * through a relay.
 */
export async function sendApns(env: Env, apns: ApnsConfig, device: Device, request: ApnsRequest, fetcher: typeof fetch): Promise<DeliveryOutcome> {
  const endpoint = apnsEndpoint(apns, device.environment, request.token);
  let rejected: string | undefined;
  for (let round = 0; round < 2; round++) {
    let token: string;
    try {
      token = await apnsProviderToken(env, device.app, apns, rejected);
    } catch (error) {
      return { status: "retry", reason: `provider token: ${describe(error)}` };
    }
    let response: Response;
    try {
      response = await fetcher(endpoint.url, {
        method: "POST",
        headers: { authorization: `bearer ${token}`, "content-type": "application/json", ...request.headers, ...endpoint.headers },
        body: request.payload,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      return networkFailure(error);
    }
    const outcome = classifyApns(response.status, await response.json().catch(() => null), response.headers.get("retry-after"));
    if (outcome.status !== "reauth") return outcome;
    rejected = token;
  }
  return { status: "failed", reason: "APNs refused a freshly minted provider token" };
}
