import type { TurnPool } from "../../src/turn/config";

/** An own coturn pool at 0°, 0° for tests of the pure TURN code. */
export const coturnPool = (region: string, urls: string[], stunUrls?: string[]): TurnPool => ({
  provider: "coturn",
  region,
  location: { latitude: 0, longitude: 0 },
  continents: [],
  urls,
  ...(stunUrls ? { stunUrls } : {}),
});
