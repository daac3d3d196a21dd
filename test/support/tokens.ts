import { env } from "cloudflare:workers";
import { importJWK, SignJWT, type JWTPayload } from "jose";
import { TEST_ENV } from "./env";

/**
 * A token the test Worker accepts: HS256 with the test secret, `sub` = `userId`, valid for an hour
 * unless `claims` overrides `exp`/`iat`/`nbf`.
 */
export async function tokenFor(userId: string, claims: JWTPayload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: userId, iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(TEST_ENV.AUTH_JWT_SECRET));
}

/** `Authorization` header for `userId`. */
export async function authHeader(userId: string, claims?: JWTPayload): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await tokenFor(userId, claims)}` };
}

interface TestKey {
  alg: "RS256" | "ES256" | "EdDSA";
  kid: string;
  privateJwk: Record<string, unknown>;
}

/** Signs `payload` with one of the fake identity provider's private keys (see jwks-server.ts). */
export async function signWithJwksKey(alg: TestKey["alg"], payload: JWTPayload, header: { kid?: string } = {}): Promise<string> {
  const keys = JSON.parse((env as unknown as { TEST_JWKS_KEYS: string }).TEST_JWKS_KEYS) as TestKey[];
  const key = keys.find((candidate) => candidate.alg === alg)!;
  return new SignJWT(payload)
    .setProtectedHeader({ alg, kid: header.kid ?? key.kid, typ: "JWT" })
    .sign(await importJWK(key.privateJwk, alg));
}

/** The fake identity provider's JWKS URL. */
export const jwksUrl = () => (env as unknown as { TEST_JWKS_URL: string }).TEST_JWKS_URL;

/** Base64url of a JSON value, for hand-made (malformed) tokens. */
export const b64url = (value: unknown) =>
  btoa(typeof value === "string" ? value : JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
