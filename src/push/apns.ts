import type { Device } from "../devices/device";
import type { ApnsConfig } from "../platform/config";
import { apnsProviderToken } from "./apns-auth";
import type { ApnsRequest } from "./messages";
import { classifyApns, describe, networkFailure, type DeliveryOutcome } from "./outcome";

const PRODUCTION = "https://api.push.apple.com";
const SANDBOX = "https://api.sandbox.push.apple.com";

/**
 * Sends one APNs request to the device's environment (`APNS_BASE_URL` replaces both when set).
 * A 403 Expired/InvalidProviderToken gets one new provider token and one more try.
 *
 * Deployed Workers reach APNs over HTTP/2, which APNs requires; `wrangler dev` does not, so
 * local sends only work against a fake APNs at `APNS_BASE_URL`.
 */
export async function sendApns(env: Env, apns: ApnsConfig, device: Device, request: ApnsRequest, fetcher: typeof fetch): Promise<DeliveryOutcome> {
  const base = apns.baseUrl ?? (device.environment === "sandbox" ? SANDBOX : PRODUCTION);
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
      response = await fetcher(`${base}/3/device/${request.token}`, {
        method: "POST",
        headers: { authorization: `bearer ${token}`, "content-type": "application/json", ...request.headers },
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
