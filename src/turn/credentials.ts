import { z } from "@hono/zod-openapi";
import type { TurnConfig, TurnPool } from "./config";
import { choosePools, type CallerLocation } from "./regions";

/** A TURN REST API credential as coturn verifies it with `use-auth-secret`. */
export interface TurnCredential {
  /** `<expiry unix seconds>:<user id>`; coturn reads the number as the expiry, not the issue time. */
  username: string;
  /** base64(HMAC-SHA1(secret, username)). */
  credential: string;
  /** Expiry in unix seconds. */
  expiresAt: number;
  /** Lifetime granted, in seconds. */
  ttl: number;
}

const encoder = new TextEncoder();

/**
 * The TURN REST API password for `username`: base64(HMAC-SHA1(secret, username)), the only
 * construction coturn accepts with `static-auth-secret`.
 *
 * @example
 * await turnPassword("s3cr3t-for-local-test", "1795522230:alice"); // "lqbZ1ig3JAL1pfHpUZVFLzfK+6A="
 */
export async function turnPassword(secret: string, username: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(username)));
  return btoa(String.fromCharCode(...mac));
}

// One imported key per secret per isolate: every ICE request signs with the same few secrets.
const hmacKeys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** The shortest credential lifetime issued, whatever a client asks for. */
export const MIN_TTL = 60;

/**
 * Clamps a requested lifetime to `[60, maxTtl]`, falling back to `defaultTtl` when none is asked.
 *
 * @example
 * clampTtl(10, { defaultTtl: 86400, maxTtl: 172800 }); // 60
 */
export function clampTtl(requested: number | undefined, limits: { defaultTtl: number; maxTtl: number }): number {
  const ttl = requested ?? limits.defaultTtl;
  return Math.min(Math.max(ttl, MIN_TTL), limits.maxTtl);
}

/**
 * Issues a time-limited credential for `userId`, signed with the first (current) secret.
 *
 * @example
 * await issueTurnCredential({ userId: "alice", secret, ttl: 3600, now: Date.now() });
 */
export async function issueTurnCredential(input: {
  userId: string;
  secret: string;
  ttl: number;
  now: number;
}): Promise<TurnCredential> {
  const expiresAt = Math.floor(input.now / 1000) + input.ttl;
  const username = `${expiresAt}:${input.userId}`;
  return { username, credential: await turnPassword(input.secret, username), expiresAt, ttl: input.ttl };
}

/** A WebRTC `RTCIceServer` entry, as the API returns it. */
export const IceServerSchema = z
  .object({
    urls: z.array(z.string()).openapi({ example: ["turn:turn-eu1.example.com:3478?transport=udp"] }),
    username: z.string().optional().openapi({ example: "1795521600:user-123" }),
    credential: z.string().optional().openapi({ example: "q0x3Jv3b0f8xq1dJc3kE9yX5p1M=" }),
  })
  .openapi("IceServer");
export type IceServer = z.output<typeof IceServerSchema>;

/**
 * The `iceServers` of an `RTCConfiguration`: STUN first (one entry for all STUN URLs), then one
 * TURN entry per pool in the order given (nearest first), all with the same credential since
 * every region shares the secret.
 */
export function buildIceServers(pools: readonly TurnPool[], extraStunUrls: readonly string[], credential: TurnCredential): IceServer[] {
  const stun = unique([...pools.flatMap(stunUrlsOf), ...extraStunUrls]);
  const turn = pools.map((pool) => ({ urls: pool.urls, username: credential.username, credential: credential.credential }));
  return stun.length > 0 ? [{ urls: stun }, ...turn] : turn;
}

/** A pool's STUN URLs: its own list, else `stun:host:port` for each plain `turn:` URL. */
export function stunUrlsOf(pool: TurnPool): string[] {
  if (pool.stunUrls) return pool.stunUrls;
  return unique(pool.urls.filter((url) => url.startsWith("turn:")).map((url) => `stun:${url.slice("turn:".length).split("?")[0]}`));
}

const unique = (items: string[]) => [...new Set(items)];

/** An `RTCConfiguration` for one caller, plus when its credential expires and the region chosen. */
export interface IceConfiguration {
  iceServers: IceServer[];
  ttl: number;
  expiresAt: string;
  region: string;
  credential: TurnCredential;
  /** The TURN URIs of the chosen pools, in order (for draft-uberti-behave-turn-rest clients). */
  uris: string[];
}

/**
 * Everything a client needs to start ICE: the nearest pools (primary, then one fallback), a
 * credential valid for `ttl` seconds (clamped), and the STUN servers. Calls reuse it so that
 * `POST /v1/calls` is a single round trip.
 *
 * @example
 * const ice = await iceConfiguration(turnConfig(env), { userId, caller: callerLocation(req.cf), now: Date.now() });
 * new RTCPeerConnection({ iceServers: ice.iceServers });
 */
export async function iceConfiguration(
  turn: TurnConfig,
  request: { userId: string; caller: CallerLocation; ttl?: number; now: number },
): Promise<IceConfiguration> {
  const pools = choosePools(turn.pools, request.caller);
  const ttl = clampTtl(request.ttl, turn);
  const credential = await issueTurnCredential({ userId: request.userId, secret: turn.secrets[0]!, ttl, now: request.now });
  const iceServers = buildIceServers(pools, turn.stunUrls, credential);
  return {
    iceServers,
    ttl,
    expiresAt: new Date(credential.expiresAt * 1000).toISOString().replace(".000Z", "Z"),
    region: pools[0]!.region,
    credential,
    uris: pools.flatMap((pool) => pool.urls),
  };
}
