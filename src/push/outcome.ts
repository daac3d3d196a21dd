/**
 * What a provider's answer means for this device, and when to try again. Pure functions, tested
 * as tables against the real error codes of FCM HTTP v1, APNs and Web Push services.
 */
export type DeliveryOutcome =
  | { status: "delivered" }
  /** The token is dead: remove it (APNs tells when it died; a later registration survives). */
  | { status: "dead"; reason: string; reportedAt?: Date }
  /** Transient: try again later, not before `retryAfterSeconds` when the provider says so. */
  | { status: "retry"; reason: string; retryAfterSeconds?: number }
  /** Our credential for the provider was refused: renew it once and try again at once. */
  | { status: "reauth"; reason: string }
  /** Permanent for this message: log it, do not retry. */
  | { status: "failed"; reason: string };

interface FcmErrorBody {
  error?: { status?: string; message?: string; details?: { "@type"?: string; errorCode?: string }[] };
}

/** Classifies an FCM HTTP v1 `messages:send` answer. */
export function classifyFcm(status: number, body: unknown, retryAfter: string | null): DeliveryOutcome {
  if (status >= 200 && status < 300) return { status: "delivered" };
  const error = (body as FcmErrorBody | null)?.error;
  const code = error?.details?.find((detail) => detail.errorCode)?.errorCode ?? error?.status ?? `HTTP_${status}`;
  const message = error?.message ?? "";
  switch (code) {
    case "UNREGISTERED":
      return { status: "dead", reason: code };
    case "SENDER_ID_MISMATCH":
      return { status: "dead", reason: code };
    case "INVALID_ARGUMENT":
      // FCM reports a malformed token as INVALID_ARGUMENT; other invalid arguments are our bug.
      return /registration token/i.test(message) ? { status: "dead", reason: `${code}: invalid registration token` } : { status: "failed", reason: `${code}: ${message}` };
    case "QUOTA_EXCEEDED":
      // Google asks for at least a minute of back-off on quota errors.
      return { status: "retry", reason: code, retryAfterSeconds: Math.max(60, parseRetryAfter(retryAfter) ?? 0) };
    case "THIRD_PARTY_AUTH_ERROR":
      return { status: "failed", reason: code };
  }
  if (status === 401) return { status: "reauth", reason: code };
  if (status === 404) return { status: "dead", reason: code };
  if (status === 429 || status >= 500) return retry(code, retryAfter);
  return { status: "failed", reason: `${code}: ${message}`.trim() };
}

/** Classifies an APNs answer (`{"reason": ..., "timestamp"?: ms}` on errors). */
export function classifyApns(status: number, body: unknown, retryAfter: string | null): DeliveryOutcome {
  if (status === 200) return { status: "delivered" };
  const { reason = `HTTP_${status}`, timestamp } = (body ?? {}) as { reason?: string; timestamp?: number };
  switch (reason) {
    case "Unregistered":
      return { status: "dead", reason, ...(typeof timestamp === "number" ? { reportedAt: new Date(timestamp) } : {}) };
    case "BadDeviceToken":
    case "DeviceTokenNotForTopic":
      return { status: "dead", reason };
    case "ExpiredProviderToken":
    case "InvalidProviderToken":
      return { status: "reauth", reason };
    case "TooManyProviderTokenUpdates":
    case "TooManyRequests":
      return retry(reason, retryAfter);
  }
  if (status === 410) return { status: "dead", reason };
  if (status === 429 || status >= 500) return retry(reason, retryAfter);
  return { status: "failed", reason };
}

/**
 * Classifies a Web Push service's answer (RFC 8030 §5; the same across FCM, Mozilla, Apple and
 * WNS): 201 (or any 2xx) delivered; 404 and 410 mean the subscription is gone (remove it); 429 and
 * 5xx are transient; 413 is a message too large; 400, 401 and 403 are ours to fix (a VAPID key the
 * subscription was not made with answers 403), never a reason to remove the subscription.
 */
export function classifyWebPush(status: number, retryAfter: string | null): DeliveryOutcome {
  if (status >= 200 && status < 300) return { status: "delivered" };
  const reason = `HTTP_${status}`;
  if (status === 404 || status === 410) return { status: "dead", reason: status === 410 ? "subscription expired (410)" : "subscription not found (404)" };
  if (status === 429 || status >= 500) return retry(reason, retryAfter);
  if (status === 401 || status === 403) return { status: "failed", reason: `${reason}: the push service refused our VAPID authorization` };
  if (status === 413) return { status: "failed", reason: `${reason}: payload too large` };
  return { status: "failed", reason };
}

/** A send that never got an answer (connection refused or lost, timeout): transient. */
export function networkFailure(error: unknown): DeliveryOutcome {
  return { status: "retry", reason: `network: ${describe(error)}` };
}

/** An error as log and outcome text. */
export const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

function retry(reason: string, retryAfter: string | null): DeliveryOutcome {
  const seconds = parseRetryAfter(retryAfter);
  return { status: "retry", reason, ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }) };
}

/** `Retry-After` as seconds: either a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** Attempts per device before a notification is given up (then the queue dead-letters it). */
export const MAX_ATTEMPTS = 5;
const BASE_DELAY_SECONDS = 2;
const MAX_DELAY_SECONDS = 300;

/**
 * Exponential back-off with jitter for the `attempt`-th retry (1-based): half the exponential
 * delay plus a random half, never less than the provider's `Retry-After`.
 *
 * @example
 * retryDelaySeconds(1, undefined, () => 0.5); // 2 × 2^0 × 0.75 → 2 (rounded up)
 */
export function retryDelaySeconds(attempt: number, retryAfterSeconds: number | undefined, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.ceil(exponential / 2 + random() * (exponential / 2));
  return Math.min(MAX_DELAY_SECONDS * 4, Math.max(jittered, retryAfterSeconds ?? 0));
}
