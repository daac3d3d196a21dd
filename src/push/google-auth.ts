import { importPKCS8, SignJWT } from "jose";
import type { FcmConfig } from "./config";

const SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
// Renew this long before Google's expiry, so a token is never used in its last minutes.
const EARLY_RENEWAL_MS = 5 * 60_000;

/** Google refused or could not issue an access token. `transient` says whether to retry later. */
export class GoogleAuthError extends Error {
  constructor(message: string, readonly transient: boolean) {
    super(message);
  }
}

interface CachedToken {
  token: string;
  renewAt: number;
}

// One access token per service account per isolate, reused until shortly before it expires.
const cache = new Map<string, CachedToken>();
const pending = new Map<string, Promise<CachedToken>>();

/**
 * An OAuth2 access token for FCM: an RS256 assertion signed with the service account's key is
 * exchanged at `GOOGLE_TOKEN_URL`; the token is cached and shared by concurrent sends.
 * `renew` forces a new one (after FCM answered 401 with the cached one).
 *
 * @example
 * const token = await googleAccessToken(config.push.fcm, fetch);
 */
export async function googleAccessToken(fcm: FcmConfig, fetcher: typeof fetch, renew?: { rejected: string }): Promise<string> {
  const key = `${fcm.clientEmail}|${fcm.tokenUrl}`;
  const cached = cache.get(key);
  const usable = cached && cached.renewAt > Date.now() && cached.token !== renew?.rejected;
  if (usable) return cached.token;
  let inflight = pending.get(key);
  if (!inflight) {
    inflight = exchange(fcm, fetcher).finally(() => pending.delete(key));
    pending.set(key, inflight);
  }
  const fresh = await inflight;
  cache.set(key, fresh);
  return fresh.token;
}

async function exchange(fcm: FcmConfig, fetcher: typeof fetch): Promise<CachedToken> {
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope: SCOPE })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(fcm.clientEmail)
    .setAudience(fcm.tokenUrl)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importPKCS8(fcm.privateKey, "RS256"));
  let response: Response;
  try {
    response = await fetcher(fcm.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new GoogleAuthError(`token endpoint unreachable: ${String(error)}`, true);
  }
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string };
  if (!response.ok || !body.access_token) {
    throw new GoogleAuthError(`token endpoint answered ${response.status} ${body.error ?? ""}`.trim(), response.status >= 500 || response.status === 429);
  }
  const lifetimeMs = (body.expires_in ?? 3600) * 1000;
  return { token: body.access_token, renewAt: Date.now() + Math.max(lifetimeMs - EARLY_RENEWAL_MS, lifetimeMs / 2) };
}
