/**
 * Region choice as a table: where a caller is (as `request.cf` reports it) → which TURN pools
 * the response lists, nearest first, with at most one fallback.
 */
import { describe, expect, it } from "vitest";
import type { TurnPool } from "../../src/turn/config";
import { callerLocation, choosePools, greatCircleKm } from "../../src/turn/regions";

const pool = (region: string, latitude: number, longitude: number, continents: string[] = []): TurnPool => ({
  provider: "coturn",
  region,
  location: { latitude, longitude },
  continents: continents as TurnPool["continents"],
  urls: [`turn:${region}.example:3478`],
});

const POOLS = [
  pool("eu-central", 50.11, 8.68, ["EU", "AF"]),
  pool("us-east", 39.04, -77.49, ["NA"]),
  pool("us-west", 37.34, -121.89),
  pool("sa-east", -23.55, -46.63, ["SA"]),
  pool("ap-southeast", 1.35, 103.82, ["AS"]),
  pool("ap-sydney", -33.87, 151.21, ["OC"]),
];

describe("greatCircleKm", () => {
  it.each([
    [{ latitude: 51.5074, longitude: -0.1278 }, { latitude: 48.8566, longitude: 2.3522 }, 344],
    [{ latitude: 40.7128, longitude: -74.006 }, { latitude: 51.5074, longitude: -0.1278 }, 5570],
    [{ latitude: 0, longitude: 179.9 }, { latitude: 0, longitude: -179.9 }, 22],
    [{ latitude: 90, longitude: 0 }, { latitude: -90, longitude: 0 }, 20015],
  ])("%o → %o ≈ %i km", (a, b, km) => {
    expect(Math.abs(greatCircleKm(a, b) - km)).toBeLessThan(km * 0.01 + 1);
  });
});

describe("choosePools", () => {
  it.each([
    ["Berlin", { latitude: 52.52, longitude: 13.4 }, ["eu-central", "us-east"]],
    ["Lagos", { latitude: 6.52, longitude: 3.38 }, ["eu-central", "sa-east"]],
    ["New York", { latitude: 40.71, longitude: -74.0 }, ["us-east", "us-west"]],
    ["Seattle", { latitude: 47.61, longitude: -122.33 }, ["us-west", "us-east"]],
    ["São Paulo", { latitude: -23.5, longitude: -46.6 }, ["sa-east", "us-east"]],
    ["Tokyo", { latitude: 35.68, longitude: 139.69 }, ["ap-southeast", "ap-sydney"]],
    ["Auckland", { latitude: -36.85, longitude: 174.76 }, ["ap-sydney", "ap-southeast"]],
    ["Honolulu", { latitude: 21.31, longitude: -157.86 }, ["us-west", "us-east"]],
    ["Fiji, across the antimeridian", { latitude: -17.71, longitude: 178.07 }, ["ap-sydney", "ap-southeast"]],
    ["continent only: Asia", { continent: "AS" }, ["ap-southeast", "ap-sydney"]],
    ["continent only: Africa", { continent: "AF" }, ["eu-central", "us-east"]],
    ["continent only: North America", { continent: "NA" }, ["us-east", "us-west"]],
    ["a continent no pool claims", { continent: "AN" }, ["eu-central", "us-east"]],
    ["nothing known: the default pool", {}, ["eu-central", "us-east"]],
  ])("%s → %o", (_where, caller, expected) => {
    expect(choosePools(POOLS, caller).map((chosen) => chosen.region)).toEqual(expected);
  });

  it("lists a single pool alone", () => {
    expect(choosePools([POOLS[0]!], { latitude: -33, longitude: 151 }).map((chosen) => chosen.region)).toEqual(["eu-central"]);
  });

  it("breaks distance ties by the order of TURN_POOLS", () => {
    const twins = [pool("a", 10, 10), pool("b", 10, 10), pool("c", 50, 50)];
    expect(choosePools(twins, { latitude: 10, longitude: 10 }).map((chosen) => chosen.region)).toEqual(["a", "b"]);
  });
});

describe("callerLocation", () => {
  it.each([
    ["strings, as Cloudflare sends them", { latitude: "52.52000", longitude: "13.40500", continent: "EU" }, { latitude: 52.52, longitude: 13.405, continent: "EU" }],
    ["numbers", { latitude: 1.5, longitude: -2 }, { latitude: 1.5, longitude: -2, continent: undefined }],
    ["no cf object (local dev)", undefined, { continent: undefined }],
    ["half a coordinate", { latitude: "52.5", continent: "EU" }, { continent: "EU" }],
    ["not a number", { latitude: "north", longitude: "13", continent: "EU" }, { continent: "EU" }],
    ["out of range", { latitude: "95", longitude: "13" }, { continent: undefined }],
    ["empty strings", { latitude: "", longitude: "" }, { continent: undefined }],
  ])("%s", (_name, cf, expected) => {
    expect(callerLocation(cf)).toEqual(expected);
  });
});
