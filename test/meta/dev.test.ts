/**
 * The demo's dev sign-in exists only with DEV_TOKENS=on and a shared secret; anywhere else it is
 * an unknown route. Tokens it mints are accepted by the API.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api";

const mint = (environment: object, body: unknown = { userId: "alice" }) =>
  app.request("/dev/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, environment);

describe("POST /dev/token", () => {
  it("is a 404 unless DEV_TOKENS=on", async () => {
    expect((await mint(env)).status).toBe(404);
    expect((await mint({ ...env, DEV_TOKENS: "off" })).status).toBe(404);
  });

  it("mints a one-hour token the API accepts", async () => {
    const response = await mint({ ...env, DEV_TOKENS: "on" });
    expect(response.status).toBe(200);
    const { token, expiresIn } = (await response.json()) as { token: string; expiresIn: number };
    expect(expiresIn).toBe(3600);
    const ice = await app.request("/v1/calls/ice-servers", { headers: { authorization: `Bearer ${token}` } }, env);
    expect(ice.status).toBe(200);
  });

  it("refuses a bad user id with 400", async () => {
    expect((await mint({ ...env, DEV_TOKENS: "on" }, { userId: "a b" })).status).toBe(400);
    expect((await mint({ ...env, DEV_TOKENS: "on" }, "nope")).status).toBe(400);
  });

  it("is a configuration error with a JWKS (production)", async () => {
    const response = await mint({ ...env, DEV_TOKENS: "on", AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: "https://id.example.com/jwks.json", AUTH_ISSUER: "https://id.example.com/", AUTH_AUDIENCE: "app" });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("DEV_TOKENS");
  });
});
