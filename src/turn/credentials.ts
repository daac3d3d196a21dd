import { z } from "@hono/zod-openapi";
import type { TurnConfig, TurnPool } from "./config";
import { usablePools } from "./health";
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

/** The managed pool's servers for one user (managed.ts), as its API gave them, port 53 dropped. */
export interface ManagedIce {
  iceServers: IceServer[];
  /** Unix seconds. */
  expiresAt: number;
}

/** What one pool adds to an ICE list: its STUN URLs (gathered into one entry) and its TURN entries. */
interface IceSource {
  region: string;
  stun: string[];
  turn: IceServer[];
}

/** The `iceServers` of sources in order: one STUN entry for every STUN URL, then each source's TURN entries. */
function iceServersOf(sources: readonly IceSource[], extraStunUrls: readonly string[]): IceServer[] {
  const stun = unique([...sources.flatMap((source) => source.stun), ...extraStunUrls]);
  const turn = sources.flatMap((source) => source.turn);
  return stun.length > 0 ? [{ urls: stun }, ...turn] : turn;
}

const ownSource = (pool: TurnPool, credential: TurnCredential): IceSource => ({
  region: pool.region,
  stun: stunUrlsOf(pool),
  turn: [{ urls: pool.urls, username: credential.username, credential: credential.credential }],
});

function managedSource(region: string, managed: ManagedIce): IceSource {
  return {
    region,
    stun: managed.iceServers.filter((server) => !server.username).flatMap((server) => server.urls),
    turn: managed.iceServers.filter((server) => server.username),
  };
}

/**
 * The `iceServers` of an `RTCConfiguration`: STUN first (one entry for all STUN URLs), then one
 * TURN entry per pool in the order given (nearest first), all with the same credential since
 * every region shares the secret.
 */
export function buildIceServers(pools: readonly TurnPool[], extraStunUrls: readonly string[], credential: TurnCredential): IceServer[] {
  return iceServersOf(
    pools.map((pool) => ownSource(pool, credential)),
    extraStunUrls,
  );
}

/** A pool's STUN URLs: its own list, else `stun:host:port` for each plain `turn:` URL. */
export function stunUrlsOf(pool: TurnPool): string[] {
  if (pool.stunUrls) return pool.stunUrls;
  return unique(pool.urls.filter((url) => url.startsWith("turn:")).map((url) => `stun:${url.slice("turn:".length).split("?")[0]}`));
}

const unique = (items: string[]) => [...new Set(items)];

/** Cloudflare's STUN needs no credential: what a managed-only list falls back to when its API is down. */
const MANAGED_STUN = "stun:stun.cloudflare.com:3478";

/** An `RTCConfiguration` for one caller, plus when its credential expires and the region chosen. */
export interface IceConfiguration {
  iceServers: IceServer[];
  ttl: number;
  expiresAt: string;
  region: string;
  /**
   * The list's first TURN credential and the TURN URIs it opens (for draft-uberti-behave-turn-rest
   * clients): the own pools' shared credential, or the managed one when no own pool is listed.
   */
  rest?: { username: string; password: string; uris: string[] };
}

/** What the fleet says for this request: the hosts to leave out, and the managed pool's servers (when it gave some). */
export interface FleetView {
  down: ReadonlySet<string>;
  managed?: ManagedIce;
}

/**
 * Everything a client needs to start ICE, never an empty list:
 * - own pools without their `down` hosts, the nearest first, then one fallback region: the
 *   managed pool when it answered, else the next nearest own pool;
 * - no own pool left: the managed pool alone, or else every own pool as configured (a list that
 *   may work beats none);
 * - managed only and its API down: STUN alone.
 * A credential valid for `ttl` seconds (clamped); `expiresAt` is the earliest expiry in the list.
 * Calls reuse it so that `POST /v1/calls` is a single round trip.
 *
 * @example
 * const ice = await iceConfiguration(turnConfig(env), { userId, caller: callerLocation(req.cf), now: Date.now() }, { down: new Set() });
 * new RTCPeerConnection({ iceServers: ice.iceServers });
 */
export async function iceConfiguration(
  turn: TurnConfig,
  request: { userId: string; caller: CallerLocation; ttl?: number; now: number },
  fleet: FleetView,
): Promise<IceConfiguration> {
  const ttl = clampTtl(request.ttl, turn);
  const healthy = choosePools(usablePools(turn.pools, fleet.down), request.caller);
  const managed = fleet.managed && turn.managed ? managedSource(turn.managed.region, fleet.managed) : undefined;
  const own = managed ? healthy.slice(0, 1) : healthy.length > 0 ? healthy : choosePools(turn.pools, request.caller);
  const credential = own.length > 0 ? await issueTurnCredential({ userId: request.userId, secret: turn.secrets[0]!, ttl, now: request.now }) : undefined;
  const ownSources = credential ? own.map((pool) => ownSource(pool, credential)) : [];
  const sources = managed ? [...ownSources, managed] : ownSources;
  const expiries = [credential?.expiresAt, managed ? fleet.managed!.expiresAt : undefined].filter((expiry) => expiry !== undefined);
  const expiresAt = expiries.length > 0 ? Math.min(...expiries) : Math.floor(request.now / 1000) + ttl;
  const first = sources[0]?.turn.find((server) => server.username && server.credential);
  return {
    iceServers: sources.length > 0 ? iceServersOf(sources, turn.stunUrls) : [{ urls: unique([MANAGED_STUN, ...turn.stunUrls]) }],
    ttl,
    expiresAt: new Date(expiresAt * 1000).toISOString().replace(".000Z", "Z"),
    region: sources[0]?.region ?? turn.managed?.region ?? turn.pools[0]!.region,
    ...(credential
      ? { rest: { username: credential.username, password: credential.credential, uris: own.flatMap((pool) => pool.urls) } }
      : first
        ? { rest: { username: first.username!, password: first.credential!, uris: first.urls } }
        : {}),
  };
}
