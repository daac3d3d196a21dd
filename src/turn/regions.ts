import type { TurnPool } from "./config";

/** What Cloudflare tells us about where a request comes from (`request.cf`), all optional. */
export interface CallerLocation {
  latitude?: number;
  longitude?: number;
  continent?: string;
}

const EARTH_RADIUS_KM = 6371.0088;
const radians = (degrees: number) => (degrees * Math.PI) / 180;

/**
 * Great-circle distance in kilometres (haversine).
 *
 * @example
 * greatCircleKm({ latitude: 51.5, longitude: -0.13 }, { latitude: 48.86, longitude: 2.35 }); // ≈ 343
 */
export function greatCircleKm(
  a: { latitude: number; longitude: number },
  b: { latitude: number; longitude: number },
): number {
  const dLat = radians(b.latitude - a.latitude);
  const dLon = radians(b.longitude - a.longitude);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(radians(a.latitude)) * Math.cos(radians(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Orders the pools for a caller and keeps the primary plus at most one fallback.
 *
 * - With coordinates: nearest pool first, the next nearest as fallback.
 * - Else with a continent: the first pool serving that continent, then the pool nearest to it.
 * - Else: the first pool of `TURN_POOLS` (the default), then the pool nearest to it.
 *
 * @example
 * choosePools(pools, { latitude: 40.7, longitude: -74 }); // [us-east, eu]
 */
export function choosePools(pools: readonly TurnPool[], caller: CallerLocation): TurnPool[] {
  const { latitude, longitude } = caller;
  if (latitude !== undefined && longitude !== undefined) {
    return nearestFirst(pools, { latitude, longitude }).slice(0, 2);
  }
  const serves = (pool: TurnPool) => (pool.continents as readonly string[]).includes(caller.continent ?? "");
  const primary = pools.find(serves) ?? pools[0];
  if (!primary) return [];
  const fallback = nearestFirst(
    pools.filter((pool) => pool !== primary),
    primary.location,
  )[0];
  return fallback ? [primary, fallback] : [primary];
}

function nearestFirst(pools: readonly TurnPool[], from: { latitude: number; longitude: number }): TurnPool[] {
  return pools
    .map((pool, index) => ({ pool, index, km: greatCircleKm(from, pool.location) }))
    .sort((a, b) => a.km - b.km || a.index - b.index)
    .map(({ pool }) => pool);
}

/**
 * Reads the caller's location from `request.cf`. Cloudflare sends latitude and longitude as
 * strings; anything that is not a finite coordinate is treated as unknown.
 */
export function callerLocation(cf: Record<string, unknown> | undefined): CallerLocation {
  const coordinate = (value: unknown, limit: number) => {
    const number = typeof value === "string" && value.trim() !== "" ? Number(value) : typeof value === "number" ? value : NaN;
    return Number.isFinite(number) && Math.abs(number) <= limit ? number : undefined;
  };
  const latitude = coordinate(cf?.latitude, 90);
  const longitude = coordinate(cf?.longitude, 180);
  const continent = typeof cf?.continent === "string" ? cf.continent : undefined;
  return latitude !== undefined && longitude !== undefined ? { latitude, longitude, continent } : { continent };
}
