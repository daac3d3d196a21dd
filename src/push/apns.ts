import type { Device } from "../devices/device";
import type { ApnsConfig } from "../platform/config";
import { apnsProviderToken } from "./apns-auth";
import type { ApnsRequest } from "./messages";
import { classifyApns, describe, networkFailure, type DeliveryOutcome } from "./outcome";

const PRODUCTION = "https://api.push.apple.com";
const SANDBOX = "https://api.sandbox.push.apple.com";

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
      token = await apnsProviderToken(env, apns, rejected);
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
