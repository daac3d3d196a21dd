/**
 * Section 2 of the contract: every way a bearer token can be wrong is a 401 with the JSON error,
 * for the HS256 (shared secret) configuration and for the JWKS configuration, whose keys come
 * from a fake identity provider on 127.0.0.1 (test/support/jwks-server.ts).
 * It does not prove anything about a real IdP's JWKS beyond the standard format.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import { app } from "../../src/api";
import { TEST_ENV } from "../support/env";
import { b64url, jwksUrl, signWithJwksKey, tokenFor } from "../support/tokens";

const PATH = "/v1/calls/ice-servers";
const now = () => Math.floor(Date.now() / 1000);

async function expectUnauthorized(response: Response, message?: RegExp) {
  expect(response.status).toBe(401);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("unauthorized");
  if (message) expect(body.error.message).toMatch(message);
}

const get = (headers: Record<string, string>, environment: object = env) => app.request(PATH, { headers }, environment);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const hs256 = (payload: Record<string, unknown>, secret: string = TEST_ENV.AUTH_JWT_SECRET) =>
  new SignJWT(payload).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret));

describe("with a shared HS256 secret", () => {
  it("accepts a valid token", async () => {
    const response = await get(bearer(await tokenFor(`user-${crypto.randomUUID()}`)));
    expect(response.status).toBe(200);
  });

  it.each([
    ["missing header", {}, /missing bearer token/],
    ["empty header", { authorization: "" }, /missing bearer token/],
    ["wrong scheme", { authorization: "Basic YWxpY2U6c2VjcmV0" }, /Bearer <JWT>/],
    ["bearer without token", { authorization: "Bearer" }, /Bearer <JWT>/],
    ["garbage token", { authorization: "Bearer not-a-jwt" }, /Bearer <JWT>/],
    ["three garbage segments", { authorization: "Bearer aaa.bbb.ccc" }, /malformed/],
  ])("refuses a %s", async (_name, headers, message) => {
    await expectUnauthorized(await get(headers), message);
  });

  it("refuses alg none", async () => {
    const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub: "mallory", exp: now() + 600 })}.`;
    await expectUnauthorized(await get(bearer(token)), /algorithm not allowed|malformed/);
  });

  it("refuses an asymmetric token (wrong algorithm family)", async () => {
    await expectUnauthorized(await get(bearer(await signWithJwksKey("ES256", { sub: "mallory", exp: now() + 600 }))), /algorithm/);
  });

  it("refuses a bad signature", async () => {
    await expectUnauthorized(await get(bearer(await hs256({ sub: "mallory", exp: now() + 600 }, "another-secret-of-the-same-length-0123456789abcdef"))), /signature/);
  });

  it("refuses a tampered payload", async () => {
    const [header, , signature] = (await tokenFor("alice")).split(".");
    const forged = `${header}.${b64url({ sub: "admin", exp: now() + 600 })}.${signature}`;
    await expectUnauthorized(await get(bearer(forged)), /signature/);
  });

  it("refuses an expired token, beyond the 30 s tolerance", async () => {
    await expectUnauthorized(await get(bearer(await tokenFor("alice", { exp: now() - 31 }))), /expired/);
  });

  it("tolerates 30 s of clock skew", async () => {
    expect((await get(bearer(await tokenFor("alice", { exp: now() - 20 })))).status).toBe(200);
  });

  it("refuses a token that is not yet valid", async () => {
    await expectUnauthorized(await get(bearer(await tokenFor("alice", { nbf: now() + 120 }))), /nbf/);
  });

  it("refuses a token without sub", async () => {
    await expectUnauthorized(await get(bearer(await hs256({ exp: now() + 600 }))), /sub is missing/);
  });

  it("refuses a token without exp", async () => {
    await expectUnauthorized(await get(bearer(await hs256({ sub: "alice" }))), /exp is missing/);
  });

  it("refuses a token issued in the future, beyond the 30 s tolerance", async () => {
    await expectUnauthorized(await get(bearer(await tokenFor("alice", { iat: now() + 120, exp: now() + 600 }))), /issued in the future/);
    expect((await get(bearer(await tokenFor("alice", { iat: now() + 20, exp: now() + 600 })))).status).toBe(200);
  });

  it("refuses a token valid for longer than AUTH_MAX_TOKEN_LIFETIME (30 days by default), with or without iat", async () => {
    const days = (n: number) => n * 86_400;
    await expectUnauthorized(await get(bearer(await tokenFor("alice", { iat: now(), exp: now() + days(30) + 60 }))), /lifetime is over 2592000 s/);
    await expectUnauthorized(await get(bearer(await hs256({ sub: "alice", exp: now() + days(31) }))), /lifetime is over 2592000 s/);
    expect((await get(bearer(await hs256({ sub: "alice", exp: now() + 3600 })))).status).toBe(200);
    expect((await get(bearer(await tokenFor("alice", { iat: now() - 3600, exp: now() + days(30) - 3600 })))).status).toBe(200);
    const stricter = { ...env, AUTH_MAX_TOKEN_LIFETIME: "600" };
    await expectUnauthorized(await get(bearer(await tokenFor("alice")), stricter), /lifetime is over 600 s/);
  });

  it("refuses a sub that is not well-formed Unicode: a lone surrogate would share another user's device store", async () => {
    // jose would replace the surrogate while encoding; the JSON escape carries it as a client could.
    const payload = `{"sub":"v\\ud800","exp":${now() + 600}}`;
    const signing = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(payload)}`;
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(TEST_ENV.AUTH_JWT_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signing)));
    const token = `${signing}.${btoa(String.fromCharCode(...signature)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "")}`;
    expect((JSON.parse(payload) as { sub: string }).sub.isWellFormed()).toBe(false);
    await expectUnauthorized(await get(bearer(token)), /well-formed Unicode/);
  });

  it.each([
    ["empty", ""],
    ["with a newline", "alice\nbob"],
    ["too long", "a".repeat(201)],
    // 150 characters but 600 bytes: `<expiry>:<sub>` would overflow STUN's 513-byte USERNAME.
    ["too many bytes of UTF-8", "😀".repeat(150)],
  ])("refuses a sub that is %s", async (_name, sub) => {
    await expectUnauthorized(await get(bearer(await hs256({ sub, exp: now() + 600 }))), /subject|sub/);
  });

  describe("with AUTH_ISSUER and AUTH_AUDIENCE", () => {
    const strict = { ...env, AUTH_ISSUER: "https://id.example.com/", AUTH_AUDIENCE: "secureconnect" };

    it("accepts matching iss and aud", async () => {
      const token = await tokenFor("alice", { iss: "https://id.example.com/", aud: "secureconnect" });
      expect((await get(bearer(token), strict)).status).toBe(200);
    });

    it("refuses the wrong issuer", async () => {
      const token = await tokenFor("alice", { iss: "https://evil.example.com/", aud: "secureconnect" });
      await expectUnauthorized(await get(bearer(token), strict), /iss/);
    });

    it("refuses the wrong audience", async () => {
      const token = await tokenFor("alice", { iss: "https://id.example.com/", aud: "another-app" });
      await expectUnauthorized(await get(bearer(token), strict), /aud/);
    });

    it("refuses a token with neither", async () => {
      await expectUnauthorized(await get(bearer(await tokenFor("alice")), strict), /iss|aud/);
    });
  });
});

describe("with a remote JWKS", () => {
  const ISSUER = "https://id.example.com/";
  const AUDIENCE = "secureconnect";
  const jwksEnv = () => ({ ...env, AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: jwksUrl(), AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
  const claims = () => ({ sub: `user-${crypto.randomUUID()}`, exp: now() + 600, iss: ISSUER, aud: AUDIENCE });

  it.each(["RS256", "ES256", "EdDSA"] as const)("accepts a %s token signed by a key of the set", async (alg) => {
    const response = await get(bearer(await signWithJwksKey(alg, claims())), jwksEnv());
    expect(response.status).toBe(200);
  });

  it("refuses an HS256 token, even one signed with the public key material (alg confusion)", async () => {
    await expectUnauthorized(await get(bearer(await tokenFor("mallory")), jwksEnv()), /algorithm/);
    const keys = (await (await fetch(jwksUrl())).json()) as { keys: { kid: string }[] };
    const confused = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256", kid: keys.keys[0]!.kid })
      .sign(new TextEncoder().encode(JSON.stringify(keys.keys[0])));
    await expectUnauthorized(await get(bearer(confused), jwksEnv()), /algorithm/);
  });

  it("refuses a token of the same key set minted for another app (issuer or audience)", async () => {
    await expectUnauthorized(await get(bearer(await signWithJwksKey("ES256", { ...claims(), aud: "someone-elses-app" })), jwksEnv()), /aud/);
    await expectUnauthorized(await get(bearer(await signWithJwksKey("ES256", { ...claims(), iss: "https://other.example.com/" })), jwksEnv()), /iss/);
    const { iss: _iss, aud: _aud, ...bare } = claims();
    await expectUnauthorized(await get(bearer(await signWithJwksKey("RS256", bare)), jwksEnv()));
  });

  it.each(["AUTH_ISSUER", "AUTH_AUDIENCE"])("is a configuration error without %s (500 naming it, never 200)", async (variable) => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await get(bearer(await signWithJwksKey("ES256", claims())), { ...jwksEnv(), [variable]: undefined });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(variable);
    log.mockRestore();
  });

  it("refuses alg none", async () => {
    const token = `${b64url({ alg: "none", kid: "test-rs256" })}.${b64url(claims())}.`;
    await expectUnauthorized(await get(bearer(token), jwksEnv()));
  });

  it("refuses a token whose kid is not in the set", async () => {
    await expectUnauthorized(await get(bearer(await signWithJwksKey("ES256", claims(), { kid: "unknown-key" })), jwksEnv()), /unknown key/);
  });

  it("refuses a token signed by another key under a known kid", async () => {
    const forged = await signWithJwksKey("ES256", claims(), { kid: "test-rs256" });
    await expectUnauthorized(await get(bearer(forged), jwksEnv()));
  });

  it("refuses expired, not-yet-valid, sub-less and exp-less tokens", async () => {
    for (const payload of [
      { sub: "alice", exp: now() - 60 },
      { sub: "alice", exp: now() + 600, nbf: now() + 600 },
      { exp: now() + 600 },
      { sub: "alice" },
    ]) {
      await expectUnauthorized(await get(bearer(await signWithJwksKey("RS256", payload)), jwksEnv()));
    }
  });

  it("answers 500 internal, not 401, when the JWKS cannot be fetched", async () => {
    const broken = { ...jwksEnv(), AUTH_JWKS_URL: `${new URL(jwksUrl()).origin}/missing-${crypto.randomUUID()}.json` };
    const response = await get(bearer(await signWithJwksKey("RS256", claims())), broken);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: "internal", message: "could not fetch the token signing keys" } });
  });
});
