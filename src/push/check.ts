import { z } from "@hono/zod-openapi";
import type { Device } from "../devices/device";
import { ConfigError, type FcmConfig } from "../platform/config";
import { log } from "../platform/log";
import { sendApns } from "./apns";
import { providerConfig, type PushContext } from "./context";
import { misconfigured } from "./delivery";
import { sendFcm } from "./fcm";
import { googleAccessToken, GoogleAuthError } from "./google-auth";
import type { ApnsRequest } from "./messages";
import { describe, type DeliveryOutcome } from "./outcome";

/**
 * `POST /v1/admin/push/check`: proves from where the Worker runs that each configured push
 * provider accepts our credentials, without notifying anyone.
 *
 * - FCM: a fresh OAuth access token (the RS256 assertion exchange, never a cached token), then a
 *   `validate_only` send of a topic message: FCM authenticates and validates it, delivers nothing.
 * - APNs: an alert to a device token APNs never issues (all zeros) through the same
 *   `sendApns` path real pushes take (provider token from its Durable Object, `APNS_RELAY_URL`
 *   when set).
 *   APNs checks the provider token (403 Invalid/ExpiredProviderToken) before the device token,
 *   so only `400 BadDeviceToken` proves that TLS, HTTP/2 (or the relay) and the provider token
 *   work; any other answer, a 200 included, is a failure. The topic is proven only as far as
 *   APNs checks it before the device token, which Apple does not document.
 */

export const ProviderCheckSchema = z
  .object({
    configured: z.boolean().openapi({ description: "Whether credentials for this provider are set; without them sends go to the log provider" }),
    ok: z.boolean().openapi({ description: "The provider accepted our credentials (always false when not configured)" }),
    latencyMs: z.number().int().nullable().openapi({ description: "Wall time of the check's requests to the provider; null when nothing was sent", example: 212 }),
    detail: z.string().openapi({ description: "What was proven, or what failed; never a secret or a token", example: "access token issued; validate_only message accepted (nothing sent)" }),
  })
  .openapi("PushProviderCheck");

export const PushCheckSchema = z
  .object({
    providers: z.object({ fcm: ProviderCheckSchema, apns: ProviderCheckSchema }),
    ok: z.boolean().openapi({ description: "Every configured provider is ok (true when none is configured)" }),
  })
  .openapi("PushCheck");

export const PushCheckQuerySchema = z.object({
  apnsEnvironment: z
    .enum(["production", "sandbox"])
    .optional()
    .openapi({ param: { name: "apnsEnvironment", in: "query" }, description: "APNs environment to probe (default production; APNS_BASE_URL, a test setting, replaces both)" }),
});

export type ProviderCheck = z.output<typeof ProviderCheckSchema>;
export type PushCheck = z.output<typeof PushCheckSchema>;

export interface PushCheckOptions {
  apnsEnvironment?: "production" | "sandbox";
  /** Bound on each provider's whole check (every request, retries and token minting included). */
  timeoutMs?: number;
}

/** The FCM topic the validate_only message is addressed to; validate_only reaches nobody anyway. */
export const PROBE_TOPIC = "secureconnect-push-check";
/** 32 zero bytes: well-formed, and never a token APNs issued. */
export const PROBE_APNS_TOKEN = "0".repeat(64);
const DEFAULT_TIMEOUT_MS = 15_000;
const DETAIL_MAX = 300;

/**
 * Checks FCM and APNs in parallel.
 *
 * @example
 * const { ok, providers } = await checkPush(pushContext(env));
 */
export async function checkPush(push: PushContext, options: PushCheckOptions = {}): Promise<PushCheck> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const [fcm, apns] = await Promise.all([checkFcm(push, timeoutMs), checkApns(push, options.apnsEnvironment ?? "production", timeoutMs)]);
  const providers = { fcm, apns };
  const ok = Object.values(providers).every((check) => !check.configured || check.ok);
  log(ok ? "info" : "error", "push_check", { ok, fcm: summary(fcm), apns: summary(apns) });
  return { providers, ok };
}

async function checkFcm(push: PushContext, timeoutMs: number): Promise<ProviderCheck> {
  const fcm = providerConfig(push, "fcm");
  if (fcm === undefined) return NOT_CONFIGURED;
  if (fcm instanceof ConfigError) return misconfiguredCheck(fcm);
  return bounded(push, timeoutMs, async (fetcher) => {
    const started = Date.now();
    try {
      await freshAccessToken(fcm, fetcher);
    } catch (error) {
      return { ok: false, detail: `Google OAuth: ${error instanceof GoogleAuthError ? error.message : describe(error)}` };
    }
    const oauthMs = Date.now() - started;
    const message = { topic: PROBE_TOPIC, data: { type: "push-check" }, android: { priority: "normal", ttl: "0s" } };
    const outcome = await sendFcm(fcm, { validate_only: true, message }, fetcher);
    if (outcome.status === "delivered") {
      return { ok: true, detail: `access token issued (${oauthMs} ms); validate_only message accepted (nothing sent)` };
    }
    return { ok: false, detail: `access token issued, but FCM refused the validate_only message: ${explain(outcome)}` };
  });
}

/**
 * An access token from a new assertion exchange. `googleAccessToken` serves the isolate's cached
 * token when it has one, which would prove only that the exchange worked up to an hour ago (the
 * key may since have been revoked): when it did not call the token endpoint, renew explicitly.
 */
async function freshAccessToken(fcm: FcmConfig, fetcher: typeof fetch): Promise<void> {
  let exchanged = false;
  const watching: typeof fetch = (input, init) => {
    if (requestUrl(input) === fcm.tokenUrl) exchanged = true;
    return fetcher(input, init);
  };
  const token = await googleAccessToken(fcm, watching);
  if (!exchanged) await googleAccessToken(fcm, fetcher, { rejected: token });
}

async function checkApns(push: PushContext, environment: "production" | "sandbox", timeoutMs: number): Promise<ProviderCheck> {
  const apns = providerConfig(push, "apns");
  if (apns === undefined) return NOT_CONFIGURED;
  if (apns instanceof ConfigError) return misconfiguredCheck(apns);
  const now = new Date().toISOString();
  const probe: Device = {
    deviceId: "push-check",
    userId: "push-check",
    provider: "apns",
    token: PROBE_APNS_TOKEN,
    platform: "ios",
    environment,
    createdAt: now,
    updatedAt: now,
  };
  const request: ApnsRequest = {
    token: PROBE_APNS_TOKEN,
    // Expiration 0: APNs tries once and never stores it (there is nobody to store it for).
    headers: { "apns-push-type": "alert", "apns-topic": apns.bundleId, "apns-priority": "5", "apns-expiration": "0" },
    payload: JSON.stringify({ aps: { alert: { title: "SecureConnect push check" } } }),
  };
  const where = `APNs (${apns.relay ? `${environment} via APNS_RELAY_URL` : apns.baseUrl ? "APNS_BASE_URL" : environment})`;
  return bounded(push, timeoutMs, async (fetcher) => {
    // The last answer as it came (status and APNs reason), for the operator: the outcome alone
    // says "refused a freshly minted provider token" but not what APNs said.
    let last = "";
    const recording: typeof fetch = async (input, init) => {
      const response = await fetcher(input, init);
      const { reason } = ((await response.clone().json().catch(() => null)) ?? {}) as { reason?: unknown };
      last = `${response.status}${typeof reason === "string" ? ` ${reason}` : ""}`;
      return response;
    };
    const outcome = await sendApns(push.env, apns, probe, request, recording);
    // Delivery code reads BadDeviceToken as "remove this token"; for the probe it is the one
    // answer that says APNs authenticated the request and then looked at the device token.
    if (outcome.status === "dead" && outcome.reason === "BadDeviceToken") {
      return { ok: true, detail: `${where}: provider token accepted; probe device token refused as expected (${last || "BadDeviceToken"})` };
    }
    if (outcome.status === "delivered") {
      return { ok: false, detail: `${where}: a push to an all-zero device token was accepted; expected 400 BadDeviceToken (is the endpoint really APNs?)` };
    }
    return { ok: false, detail: `${where}: expected 400 BadDeviceToken, got ${last ? `${last} (${explain(outcome)})` : explain(outcome)}` };
  });
}

const NOT_CONFIGURED: ProviderCheck = { configured: false, ok: false, latencyMs: null, detail: "not configured: sends go to the log provider" };

const misconfiguredCheck = (error: ConfigError): ProviderCheck => ({ configured: true, ok: false, latencyMs: null, detail: misconfigured(error) });

/**
 * Runs one provider's check with a deadline: every request it makes is aborted at `timeoutMs`,
 * and the check answers by then even if something other than `fetch` (the provider-token
 * Durable Object) hangs.
 */
async function bounded(push: PushContext, timeoutMs: number, run: (fetcher: typeof fetch) => Promise<{ ok: boolean; detail: string }>): Promise<ProviderCheck> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const fetcher: typeof fetch = (input, init) => push.fetcher(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<{ ok: boolean; detail: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: "no answer" }), timeoutMs + 100);
  });
  try {
    const result = await Promise.race([run(fetcher).catch((error: unknown) => ({ ok: false, detail: describe(error) })), expired]);
    const detail = !result.ok && deadline.aborted ? `timed out after ${timeoutMs} ms (${result.detail})` : result.detail;
    return { configured: true, ok: result.ok, latencyMs: Date.now() - started, detail: scrub(detail) };
  } finally {
    clearTimeout(timer);
  }
}

function explain(outcome: DeliveryOutcome): string {
  return outcome.status === "delivered" ? "delivered" : `${outcome.status}: ${outcome.reason}`;
}

const requestUrl = (input: RequestInfo | URL) => (input instanceof Request ? input.url : String(input));

// Provider error text is passed on for the operator; make sure no credential rides along with it.
const CREDENTIALS = [/\bey[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g, /\bya29\.[\w.-]+/g, /-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g, /\bBearer\s+\S+/gi];

/** A detail safe to show: no JWT, Google access token, PEM key or bearer value; bounded length. */
export function scrub(detail: string): string {
  const clean = CREDENTIALS.reduce((text, pattern) => text.replace(pattern, "[redacted]"), detail);
  return clean.length > DETAIL_MAX ? `${clean.slice(0, DETAIL_MAX - 1)}…` : clean;
}

const summary = (check: ProviderCheck) => (check.configured ? { ok: check.ok, latencyMs: check.latencyMs, detail: check.detail } : "not configured");
