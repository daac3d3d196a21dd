import { z } from "zod";
import { log } from "../platform/log";
import type { ManagedTurnConfig } from "./config";
import type { ManagedIce } from "./credentials";

/**
 * Cloudflare Realtime TURN as a pool: short-lived credentials from
 * `POST {base}/v1/turn/keys/{key id}/credentials/generate-ice-servers` (bearer API token, body
 * `{ttl, customIdentifier}`, answered 201 with `{iceServers}`), cached briefly per user in the
 * isolate so the API is not called on every request. Port-53 URLs are dropped: browsers block
 * that port. A failure is logged and yields nothing (the other pools carry the list), never an
 * error to the client.
 */

/** Cloudflare refuses credentials that live longer than 48 hours. */
export const MANAGED_MAX_TTL = 172_800;
/** The API gets this long to answer before the list goes out without the managed pool. */
const API_TIMEOUT_MS = 2_500;
/** After a failure, the API is left alone this long (requests meanwhile skip the managed pool). */
const FAILURE_PAUSE_MS = 10_000;
/** A user's managed credential is reused for at most this long (and a tenth of its ttl). */
const REUSE_MS = 60_000;
const CACHE_ENTRIES = 1_000;

const IceServerResponse = z.object({
  urls: z.union([z.string(), z.array(z.string())]).transform((urls) => (typeof urls === "string" ? [urls] : urls)),
  username: z.string().optional(),
  credential: z.string().optional(),
});
const GeneratedIceServers = z.object({ iceServers: z.array(IceServerResponse).min(1) });

interface Reusable extends ManagedIce {
  until: number;
}

// Per isolate: the users' recent managed credentials, and when the API may be asked again.
const reusable = new Map<string, Reusable>();
const pausedUntil = new Map<string, number>();

/** Port 53 is DNS; Chrome and Firefox refuse ICE servers on it. */
const onPort53 = (url: string) => /^[a-z]+:(\[[^\]]+\]|[^:?]+):53(\?|$)/.test(url);

/**
 * The managed pool's ICE servers for `userId`, valid for `ttl` seconds (capped at 48 h), or
 * undefined when the API cannot give them now.
 *
 * @example
 * const managed = await managedIceServers(turn.managed, { userId, ttl: 3600, now: Date.now() });
 */
export async function managedIceServers(
  managed: ManagedTurnConfig,
  request: { userId: string; ttl: number; now: number },
  fetcher: typeof fetch = fetch,
): Promise<ManagedIce | undefined> {
  const ttl = Math.min(request.ttl, MANAGED_MAX_TTL);
  const key = `${managed.keyId}\u0000${ttl}\u0000${request.userId}`;
  const cached = reusable.get(key);
  if (cached && cached.until > request.now) return cached;
  if ((pausedUntil.get(managed.keyId) ?? 0) > request.now) return undefined;

  const started = Date.now();
  try {
    const response = await fetcher(`${managed.baseUrl}/v1/turn/keys/${encodeURIComponent(managed.keyId)}/credentials/generate-ice-servers`, {
      method: "POST",
      headers: { authorization: `Bearer ${managed.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ ttl, customIdentifier: await opaqueUserId(request.userId) }),
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
    if (response.status !== 201 && response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`the API answered ${response.status}`);
    }
    const parsed = GeneratedIceServers.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new Error("the API's answer has no usable iceServers");
    const iceServers = parsed.data.iceServers
      .map((server) => ({ ...server, urls: server.urls.filter((url) => !onPort53(url)) }))
      .filter((server) => server.urls.length > 0);
    if (!iceServers.some((server) => server.username && server.credential)) throw new Error("the API's answer has no TURN credential");
    const entry: Reusable = { iceServers, expiresAt: Math.floor(request.now / 1000) + ttl, until: request.now + Math.min(REUSE_MS, ttl * 100) };
    remember(key, entry);
    return entry;
  } catch (error) {
    pausedUntil.set(managed.keyId, request.now + FAILURE_PAUSE_MS);
    // Never the token; the key id is not a secret on its own but stays out of logs too.
    log("warn", "managed_turn_unavailable", { region: managed.region, error: String(error), latencyMs: Date.now() - started });
    return undefined;
  }
}

function remember(key: string, entry: Reusable): void {
  reusable.delete(key);
  reusable.set(key, entry);
  // Oldest first in a Map: evict from the front.
  for (const oldest of reusable.keys()) {
    if (reusable.size <= CACHE_ENTRIES) break;
    reusable.delete(oldest);
  }
}

/** The user as Cloudflare's analytics may see them: a hash, not the id itself. */
async function opaqueUserId(userId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(userId)));
  return [...digest.subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
