/**
 * `GET /v1/calls/ice-servers` and `GET /v1/turn/credentials` through the whole app in workerd:
 * the response shapes of the contract, the credential scheme, region choice from `request.cf`,
 * and every bad query answered 400 or clamped. Acceptance by a real coturn: test/node/coturn.test.ts.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api";
import { turnPassword } from "../../src/turn/credentials";
import { TEST_ENV } from "../support/env";
import { authHeader } from "../support/tokens";

const [CURRENT_SECRET] = TEST_ENV.TURN_SECRETS.split(",");

interface IceBody {
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  ttl: number;
  expiresAt: string;
  region: string;
}

async function iceServers(query = "", cf?: Record<string, unknown>, userId = `user-${crypto.randomUUID()}`) {
  const request = new Request(`http://edge.test/v1/calls/ice-servers${query}`, {
    headers: await authHeader(userId),
    ...(cf ? { cf } : {}),
  });
  return app.fetch(request, env);
}

describe("GET /v1/calls/ice-servers", () => {
  it("returns an RTCConfiguration with a coturn credential for the caller", async () => {
    const before = Math.floor(Date.now() / 1000);
    const response = await iceServers("", undefined, "alice");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as IceBody;

    expect(body.ttl).toBe(86_400);
    expect(body.region).toBe("eu");
    const [stun, primary, fallback, ...rest] = body.iceServers;
    expect(rest).toEqual([]);
    expect(stun).toEqual({ urls: ["stun:turn-eu.example.com:3478", "stun:turn-use.example.com:3478", "stun:stun.example.net:3478"] });
    expect(primary!.urls).toEqual([
      "turn:turn-eu.example.com:3478?transport=udp",
      "turn:turn-eu.example.com:3478?transport=tcp",
      "turns:turn-eu.example.com:443?transport=tcp",
    ]);
    expect(fallback!.urls[0]).toBe("turn:turn-use.example.com:3478?transport=udp");

    const [expiry, user] = primary!.username!.split(":");
    expect(user).toBe("alice");
    expect(Number(expiry) - before).toBeGreaterThanOrEqual(86_400);
    expect(Number(expiry) - before).toBeLessThanOrEqual(86_401);
    expect(body.expiresAt).toBe(new Date(Number(expiry) * 1000).toISOString().replace(".000Z", "Z"));
    expect(primary!.credential).toBe(await turnPassword(CURRENT_SECRET!, primary!.username!));
    expect(fallback!.username).toBe(primary!.username);
    expect(fallback!.credential).toBe(primary!.credential);
  });

  it.each([
    ["a caller in Singapore", { latitude: "1.29", longitude: "103.85", continent: "AS" }, "ap-southeast"],
    ["a caller in Chicago", { latitude: "41.88", longitude: "-87.63", continent: "NA" }, "us-east"],
    ["a caller known only by continent", { continent: "OC" }, "ap-southeast"],
    ["a caller in Nairobi", { latitude: "-1.29", longitude: "36.82", continent: "AF" }, "eu"],
  ])("lists the nearest region first for %s", async (_who, cf, region) => {
    const body = (await (await iceServers("", cf)).json()) as IceBody;
    expect(body.region).toBe(region);
    expect(body.iceServers).toHaveLength(3);
  });

  it.each([
    ["?ttl=3600", 3600],
    ["?ttl=0", 60],
    ["?ttl=5", 60],
    ["?ttl=172800", 172_800],
    ["?ttl=999999999", 172_800],
    ["?ttl=999999999999999", 172_800],
    ["?ttl=00120", 120],
  ])("clamps %s to %i seconds", async (query, ttl) => {
    const body = (await (await iceServers(query)).json()) as IceBody;
    expect(body.ttl).toBe(ttl);
    const expiry = Number(body.iceServers[1]!.username!.split(":")[0]);
    expect(Math.abs(expiry - Math.floor(Date.now() / 1000) - ttl)).toBeLessThanOrEqual(1);
  });

  it.each([
    ["?ttl=abc", /ttl must be a whole number/],
    ["?ttl=-5", /ttl must be a whole number/],
    ["?ttl=1.5", /ttl must be a whole number/],
    ["?ttl=", /ttl must be a whole number/],
    ["?ttl=1e9", /ttl must be a whole number/],
    ["?ttl=9999999999999999999999", /ttl must be a whole number/],
    ["?region=eu", /region/],
    ["?ttl=60&debug=1", /debug/],
  ])("answers 400 invalid_request to %s", async (query, message) => {
    const response = await iceServers(query);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toMatch(message);
  });
});

describe("GET /v1/turn/credentials (draft-uberti-behave-turn-rest)", () => {
  it("returns the same credential scheme in the REST API shape", async () => {
    const response = await app.request("/v1/turn/credentials?ttl=600", { headers: await authHeader("bob") }, env);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { username: string; password: string; ttl: number; uris: string[] };
    expect(Object.keys(body).sort()).toEqual(["password", "ttl", "uris", "username"]);
    expect(body.ttl).toBe(600);
    expect(body.username).toMatch(/^\d+:bob$/);
    expect(body.password).toBe(await turnPassword(CURRENT_SECRET!, body.username));
    expect(body.uris).toEqual([
      "turn:turn-eu.example.com:3478?transport=udp",
      "turn:turn-eu.example.com:3478?transport=tcp",
      "turns:turn-eu.example.com:443?transport=tcp",
      "turn:turn-use.example.com:3478?transport=udp",
      "turns:turn-use.example.com:443?transport=tcp",
    ]);
  });

  it("validates ttl the same way", async () => {
    const response = await app.request("/v1/turn/credentials?ttl=-1", { headers: await authHeader("bob") }, env);
    expect(response.status).toBe(400);
  });

  it("takes the draft's query: service=turn, and username when it is the token's subject", async () => {
    for (const query of ["service=turn", "service=turn&username=bob", "service=turn&username=bob&ttl=600", "service=turn&key=draft-api-key"]) {
      const response = await app.request(`/v1/turn/credentials?${query}`, { headers: await authHeader("bob") }, env);
      expect(response.status, query).toBe(200);
      expect(((await response.json()) as { username: string }).username).toMatch(/^\d+:bob$/);
    }
    const other = await app.request("/v1/turn/credentials?service=turn&username=alice", { headers: await authHeader("bob") }, env);
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    for (const query of ["service=stun", "service=turn&color=blue"]) {
      const response = await app.request(`/v1/turn/credentials?${query}`, { headers: await authHeader("bob") }, env);
      expect(response.status, query).toBe(400);
    }
  });
});
