import { DurableObject } from "cloudflare:workers";
import { importPKCS8, SignJWT } from "jose";
import { ConfigError } from "../platform/config";
import { log } from "../platform/log";
import { apnsCredentials } from "./apps";
import type { ApnsConfig } from "./config";

interface ProviderToken {
  token: string;
  issuedAt: number;
}

// Apple: refresh no more often than every 20 minutes and at least every 60. Mint at 45, use a
// locally cached copy until 40, so every isolate moves to the new token before the old expires.
const MINT_AFTER_MS = 45 * 60_000;
const LOCAL_USE_MS = 40 * 60_000;
const MIN_AGE_MS = 20 * 60_000;

/**
 * The one place a team's APNs provider token is minted: APNs answers
 * `TooManyProviderTokenUpdates` when a team mints too often, and every isolate of every colo
 * would otherwise mint its own. One instance per team and key (`idFromName`), strongly
 * consistent, so all of them share one token; apps of one team that share a key share its token
 * (a provider token is valid for every topic of the team), apps with their own keys have their own.
 */
export class ApnsProviderToken extends DurableObject<Env> {
  /** A mint in progress: calls that arrive while it signs (the input gate is open then) share it. */
  private minting: Promise<ProviderToken> | undefined;

  /**
   * The current token; a new one when it is old, or when APNs refused `rejected` and it is still
   * current. `app` names the app whose key signs it (its credentials are read here, never sent).
   */
  async current(app: string, rejected?: string): Promise<ProviderToken> {
    const apns = apnsCredentials(this.env, app);
    if (apns instanceof ConfigError) throw apns;
    if (!apns) throw new Error(`APNs is not configured for app "${app}"`);
    const stored = this.ctx.storage.kv.get<ProviderToken>("token");
    const now = Date.now();
    const stale = stored && rejected === stored.token;
    if (stored && !stale && now - stored.issuedAt < MINT_AFTER_MS) return stored;
    if (stale && now - stored.issuedAt < MIN_AGE_MS) {
      log("warn", "apns_token_renewed_early", { ageSeconds: Math.round((now - stored.issuedAt) / 1000) });
    }
    this.minting ??= mintProviderToken(apns, now)
      .then((token) => {
        const minted = { token, issuedAt: now };
        this.ctx.storage.kv.put("token", minted);
        return minted;
      })
      .finally(() => (this.minting = undefined));
    return this.minting;
  }
}

/** Signs an APNs provider token: ES256, `kid` = key id, `iss` = team id, `iat` = now. */
export async function mintProviderToken(apns: ApnsConfig, now: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: apns.keyId })
    .setIssuer(apns.teamId)
    .setIssuedAt(Math.floor(now / 1000))
    .sign(await importPKCS8(apns.key, "ES256"));
}

const local = new Map<string, ProviderToken>();

/**
 * The provider token to send with for `app`, from this isolate's copy while it is young enough,
 * else from the team's {@link ApnsProviderToken} object. Pass `rejected` after a 403
 * Expired/Invalid ProviderToken to get a new one.
 */
export async function apnsProviderToken(env: Env, app: string, apns: ApnsConfig, rejected?: string): Promise<string> {
  const name = `${apns.teamId}:${apns.keyId}`;
  const cached = local.get(name);
  if (cached && cached.token !== rejected && Date.now() - cached.issuedAt < LOCAL_USE_MS) return cached.token;
  const fresh = await env.APNS_TOKENS.get(env.APNS_TOKENS.idFromName(name)).current(app, rejected);
  local.set(name, fresh);
  return fresh.token;
}
