import type { FcmConfig } from "../platform/config";
import { googleAccessToken, GoogleAuthError } from "./google-auth";
import { classifyFcm, describe, networkFailure, type DeliveryOutcome } from "./outcome";

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
): Promise<{ ok: boolean; reason?: string }[]> {
  const results: { ok: boolean; reason?: string }[] = [];
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
      results.push(...chunk.map(() => ({ ok: false, reason: describe(error) })));
      continue;
    }
    const body = (await reply.json().catch(() => ({}))) as { results?: { error?: string }[] };
    if (!reply.ok || !Array.isArray(body.results)) {
      results.push(...chunk.map(() => ({ ok: false, reason: `Instance ID API answered ${reply.status}` })));
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
