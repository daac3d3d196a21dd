/**
 * The TURN REST API credential maths, checked against coturn's construction and a known vector.
 * That coturn really accepts what this produces is proven in test/node/coturn.test.ts.
 */
import { describe, expect, it } from "vitest";
import { buildIceServers, clampTtl, issueTurnCredential, stunUrlsOf, turnPassword } from "../../src/turn/credentials";
import { coturnPool as pool } from "../support/pools";

describe("turnPassword", () => {
  it("matches the known vector", async () => {
    expect(await turnPassword("s3cr3t-for-local-test", "1795522230:alice")).toBe("lqbZ1ig3JAL1pfHpUZVFLzfK+6A=");
  });

  it("depends on the secret and on every character of the username", async () => {
    const base = await turnPassword("s3cr3t-for-local-test", "1795522230:alice");
    expect(await turnPassword("s3cr3t-for-local-tesT", "1795522230:alice")).not.toBe(base);
    expect(await turnPassword("s3cr3t-for-local-test", "1795522231:alice")).not.toBe(base);
  });
});

describe("clampTtl", () => {
  const limits = { defaultTtl: 86_400, maxTtl: 172_800 };
  it.each([
    [undefined, 86_400],
    [0, 60],
    [59, 60],
    [60, 60],
    [3600, 3600],
    [172_800, 172_800],
    [172_801, 172_800],
    [999_999_999_999_999, 172_800],
  ])("ttl %s → %s", (requested, expected) => {
    expect(clampTtl(requested, limits)).toBe(expected);
  });
});

describe("issueTurnCredential", () => {
  it("puts the expiry, not the issue time, before the user id", async () => {
    const credential = await issueTurnCredential({ userId: "alice", secret: "s3cr3t-for-local-test", ttl: 600, now: 1_795_521_630_500 });
    expect(credential).toEqual({
      username: "1795522230:alice",
      credential: "lqbZ1ig3JAL1pfHpUZVFLzfK+6A=",
      expiresAt: 1_795_522_230,
      ttl: 600,
    });
  });

  it("keeps colons in the user id after the first one", async () => {
    const credential = await issueTurnCredential({ userId: "tenant:bob", secret: "s3cr3t-for-local-test", ttl: 60, now: 0 });
    expect(credential.username).toBe("60:tenant:bob");
  });
});

describe("buildIceServers", () => {
  const credential = { username: "60:alice", credential: "c2VjcmV0", expiresAt: 60, ttl: 60 };

  it("lists STUN once, then one TURN entry per pool in order, all with the credential", () => {
    const servers = buildIceServers(
      [pool("eu", ["turn:eu.example:3478?transport=udp", "turns:eu.example:443?transport=tcp"]), pool("us", ["turn:us.example:3478"])],
      ["stun:extra.example:3478"],
      credential,
    );
    expect(servers).toEqual([
      { urls: ["stun:eu.example:3478", "stun:us.example:3478", "stun:extra.example:3478"] },
      { urls: ["turn:eu.example:3478?transport=udp", "turns:eu.example:443?transport=tcp"], username: "60:alice", credential: "c2VjcmV0" },
      { urls: ["turn:us.example:3478"], username: "60:alice", credential: "c2VjcmV0" },
    ]);
  });

  it("uses a pool's own STUN URLs when it names them, and derives none from turns: URLs", () => {
    expect(stunUrlsOf(pool("eu", ["turn:eu.example:3478?transport=udp", "turn:eu.example:3478?transport=tcp"]))).toEqual([
      "stun:eu.example:3478",
    ]);
    expect(stunUrlsOf(pool("eu", ["turns:eu.example:443?transport=tcp"]))).toEqual([]);
    expect(stunUrlsOf(pool("eu", ["turn:eu.example:3478"], ["stun:stun.eu.example:19302"]))).toEqual(["stun:stun.eu.example:19302"]);
  });

  it("omits the STUN entry when there is no STUN URL at all", () => {
    expect(buildIceServers([pool("eu", ["turns:eu.example:443?transport=tcp"])], [], credential)).toEqual([
      { urls: ["turns:eu.example:443?transport=tcp"], username: "60:alice", credential: "c2VjcmV0" },
    ]);
  });
});
