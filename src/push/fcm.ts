import type { FcmConfig } from "./config";
import { googleAccessToken, GoogleAuthError } from "./google-auth";
import { classifyFcm, describe, networkFailure, type DeliveryOutcome } from "./outcome";
import { fcmMessage } from "./payloads";
import { buildPayload, logProvider, type Provider, type ProviderProbe, type TopicChangeResult } from "./providers";

/** The FCM topic the push check's validate_only message is addressed to; it reaches nobody anyway. */
export const PROBE_TOPIC = "secureconnect-push-check";

/** FCM HTTP v1 as a {@link Provider}: device sends, topics through the Instance ID API, the push check's probe. */
export function fcmProvider(fcm: FcmConfig, fetcher: typeof fetch): Provider {
  return {
    name: "fcm",
    mode: "ready",
    async send(notification, device) {
      const body = buildPayload(() => fcmMessage(notification, { token: device.token }, Date.now()), device.token);
      if ("status" in body) return body;
      return { ...(await sendFcm(fcm, body, fetcher)), token: device.token };
    },
    topics: {
      send: async (notification, topic) => {
        const body = buildPayload(() => fcmMessage(notification, { topic }, Date.now()), topic);
        return "status" in body ? body : sendFcm(fcm, body, fetcher);
      },
      change: (topic, tokens, action) => fcmTopicMembership(fcm, topic, tokens, action, fetcher),
    },
    probe: (bounded) => probeFcm(fcm, bounded),
  };
}

/** FCM without credentials: log lines, with FCM's own size limit. */
export const fcmLogProvider = (): Provider => logProvider("fcm", (notification, device) => (fcmMessage(notification, { token: device.token }, Date.now()), device));

/**
 * The push check for FCM: a fresh OAuth access token (the RS256 assertion exchange, never a
 * cached token), then a `validate_only` send of a topic message: FCM authenticates and validates
 * it, and delivers nothing.
 */
const probeFcm = async (fcm: FcmConfig, fetcher: typeof fetch): ReturnType<ProviderProbe> => {
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
  return { ok: false, detail: `access token issued, but FCM refused the validate_only message: ${outcome.status}: ${outcome.reason}` };
};

/**
 * An access token from a new assertion exchange. `googleAccessToken` serves the isolate's cached
 * token when it has one, which would prove only that the exchange worked up to an hour ago (the
 * key may since have been revoked): when it did not call the token endpoint, renew explicitly.
 */
async function freshAccessToken(fcm: FcmConfig, fetcher: typeof fetch): Promise<void> {
  let exchanged = false;
  const watching: typeof fetch = (input, init) => {
    if ((input instanceof Request ? input.url : String(input)) === fcm.tokenUrl) exchanged = true;
    return fetcher(input, init);
  };
  const token = await googleAccessToken(fcm, watching);
  if (!exchanged) await googleAccessToken(fcm, fetcher, { rejected: token });
}

/**
 * Sends one FCM HTTP v1 message. A 401 means the cached access token was refused: it is renewed
 * once and the send repeated; a second 401 is a failure.
 */
export async function sendFcm(fcm: FcmConfig, body: object, fetcher: typeof fetch): Promise<DeliveryOutcome> {
  let rejected: string | undefined;
  for (let round = 0; round < 2; round++) {
    let token: string;
    try {
      token = await googleAccessToken(fcm, fetcher, rejected ? { rejected } : undefined);
    } catch (error) {
      return authFailure(error);
    }
    const outcome = await post(`${fcm.baseUrl}/v1/projects/${encodeURIComponent(fcm.projectId)}/messages:send`, token, body, fetcher);
    if (outcome.status !== "reauth") return outcome;
    rejected = token;
  }
  return { status: "failed", reason: "FCM refused a freshly issued access token" };
}

/**
 * Adds or removes FCM tokens to or from a topic through the Instance ID API (at most 1000 per
 * call). Returns one outcome per token, in order.
 */
export async function fcmTopicMembership(
  fcm: FcmConfig,
  topic: string,
  tokens: string[],
  action: "add" | "remove",
  fetcher: typeof fetch,
): Promise<TopicChangeResult[]> {
  const results: TopicChangeResult[] = [];
  for (let start = 0; start < tokens.length; start += 1000) {
    const chunk = tokens.slice(start, start + 1000);
    let reply: Response;
    try {
      const token = await googleAccessToken(fcm, fetcher);
      reply = await fetcher(`${fcm.iidUrl}/iid/v1:${action === "add" ? "batchAdd" : "batchRemove"}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", access_token_auth: "true" },
        body: JSON.stringify({ to: `/topics/${topic}`, registration_tokens: chunk }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      results.push(...chunk.map(() => ({ ok: false, reason: describe(error), transient: true })));
      continue;
    }
    const body = (await reply.json().catch(() => ({}))) as { results?: { error?: string }[] };
    if (!reply.ok || !Array.isArray(body.results)) {
      const transient = reply.status === 429 || reply.status >= 500;
      results.push(...chunk.map(() => ({ ok: false, reason: `Instance ID API answered ${reply.status}`, transient })));
      continue;
    }
    results.push(...chunk.map((_, i) => (body.results![i]?.error ? { ok: false, reason: body.results![i]!.error } : { ok: true })));
  }
  return results;
}

async function post(url: string, token: string, body: object, fetcher: typeof fetch): Promise<DeliveryOutcome> {
  let response: Response;
  try {
    response = await fetcher(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return networkFailure(error);
  }
  return classifyFcm(response.status, await response.json().catch(() => null), response.headers.get("retry-after"));
}

function authFailure(error: unknown): DeliveryOutcome {
  if (error instanceof GoogleAuthError) return error.transient ? { status: "retry", reason: error.message } : { status: "failed", reason: error.message };
  return { status: "failed", reason: `access token: ${describe(error)}` };
}
