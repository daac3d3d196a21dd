import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { ApiError } from "../platform/errors";
import type { Principal } from "../platform/http";
import { isUserId } from "../platform/ids";
import { log } from "../platform/log";
import type { AuthConfig } from "./config";

/** Asymmetric algorithms accepted from a JWKS; a JWKS never verifies an HMAC token. */
export const JWKS_ALGORITHMS = ["RS256", "ES256", "EdDSA", "Ed25519"];
/** The one algorithm accepted with a shared secret. */
export const SECRET_ALGORITHMS = ["HS256"];

const CLOCK_TOLERANCE_SECONDS = 30;

// One remote key set per URL per isolate: jose caches the keys and refetches at most once per
// cooldown when it meets an unknown `kid`, so a key rotation at the IdP is picked up.
const remoteKeySets = new Map<string, JWTVerifyGetKey>();
const secretKeys = new Map<string, Promise<CryptoKey>>();

/** The JWKS could not be had (network, timeout, not 200, not a key set): the service's fault. */
class SigningKeysUnavailable extends Error {}

// Errors a key set throws because of the token itself; anything else it throws is about the
// JWKS endpoint and must not be reported to the client as a bad token.
const TOKEN_FAULTS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported, errors.JWSInvalid];

function remoteKeySet(jwksUrl: string): JWTVerifyGetKey {
  let keySet = remoteKeySets.get(jwksUrl);
  if (!keySet) {
    const fetched = createRemoteJWKSet(new URL(jwksUrl), {
      timeoutDuration: 5_000,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    keySet = async (header, token) => {
      try {
        return await fetched(header, token);
      } catch (error) {
        if (TOKEN_FAULTS.some((fault) => error instanceof fault)) throw error;
        throw new SigningKeysUnavailable(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    };
    remoteKeySets.set(jwksUrl, keySet);
  }
  return keySet;
}

// Imported once per isolate: given raw bytes, jose would import a key on every verification.
function secretKey(secret: string): Promise<CryptoKey> {
  let key = secretKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    secretKeys.set(secret, key);
  }
  return key;
}

/**
 * Verifies a bearer JWT against the configured keys and returns the caller. Every reason a
 * token is refused becomes `401 unauthorized`; a JWKS that cannot be fetched is the service's
 * fault, not the client's, and becomes `500 internal`.
 *
 * @example
 * const principal = await verifyToken(token, authConfig(env));
 */
export async function verifyToken(token: string, auth: AuthConfig): Promise<Principal> {
  let payload: JWTPayload;
  try {
    const options = {
      issuer: auth.issuer,
      audience: auth.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["exp", "sub"],
    };
    // Algorithms are pinned to the configured family: a JWKS never verifies an HMAC token
    // (algorithm confusion), a shared secret never verifies anything but HS256.
    const verified =
      auth.kind === "jwks"
        ? await jwtVerify(token, remoteKeySet(auth.jwksUrl), { ...options, algorithms: JWKS_ALGORITHMS })
        : await jwtVerify(token, await secretKey(auth.secret), { ...options, algorithms: SECRET_ALGORITHMS });
    payload = verified.payload;
  } catch (error) {
    throw refusal(error);
  }
  if (typeof payload.sub !== "string" || !isUserId(payload.sub)) {
    throw new ApiError("unauthorized", "token subject must be a user id of 1 to 200 printable characters (at most 400 bytes), well-formed Unicode");
  }
  const age = tokenAgeProblem(payload, auth.maxTokenLifetime, Math.floor(Date.now() / 1000));
  if (age) throw new ApiError("unauthorized", age);
  const scopes = typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : [];
  return { userId: payload.sub, scopes: new Set(scopes) };
}

/**
 * Whether a verified token's times are acceptable beyond `exp` and `nbf`: issued in the past (with
 * the clock tolerance), and valid for at most `maxLifetime` seconds from its `iat` (from now when
 * it has none), so a leaked long-lived token is refused.
 *
 * @example
 * tokenAgeProblem({ iat: now, exp: now + 30 * 86_400 }, 86_400, now); // "token lifetime is over 86400 s …"
 */
export function tokenAgeProblem(payload: JWTPayload, maxLifetime: number, now: number): string | undefined {
  if (typeof payload.iat === "number" && payload.iat > now + CLOCK_TOLERANCE_SECONDS) return "token issued in the future (iat)";
  const lifetime = (payload.exp ?? now) - (typeof payload.iat === "number" ? payload.iat : now);
  if (lifetime > maxLifetime) return `token lifetime is over ${maxLifetime} s (exp - iat; AUTH_MAX_TOKEN_LIFETIME)`;
  return undefined;
}

function refusal(error: unknown): ApiError {
  if (error instanceof SigningKeysUnavailable) {
    log("error", "jwks_unavailable", { message: error.message });
    return new ApiError("internal", "could not fetch the token signing keys");
  }
  if (error instanceof errors.JWTExpired) return new ApiError("unauthorized", "token expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new ApiError("unauthorized", `token claim ${error.claim} ${error.reason === "missing" ? "is missing" : "is not acceptable"}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new ApiError("unauthorized", "token algorithm not allowed");
  if (error instanceof errors.JWKSNoMatchingKey) return new ApiError("unauthorized", "token signed by an unknown key");
  if (error instanceof errors.JWSSignatureVerificationFailed) return new ApiError("unauthorized", "token signature invalid");
  return new ApiError("unauthorized", "token malformed");
}
