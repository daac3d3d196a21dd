import { z } from "zod";
import { configSection, optionalText, seconds } from "../platform/config";

/**
 * How bearer tokens are verified: a remote JWKS (production) or a shared HS256 secret
 * (development and tests), never both; `DEV_TOKENS` turns on the demo's `POST /dev/token`.
 */
const AuthSection = z
  .object({
    AUTH_JWKS_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    AUTH_JWT_SECRET: optionalText.pipe(z.string().min(32, "must be at least 32 characters (256 bits for HS256)").optional()),
    AUTH_ISSUER: optionalText,
    AUTH_AUDIENCE: optionalText,
    DEV_TOKENS: optionalText.pipe(z.enum(["on", "off"]).optional()),
    // Longer-lived tokens are refused: a leaked one stays useful no longer than this. 30 days by
    // default, so the long-lived server tokens of a push backend still pass; set it lower.
    AUTH_MAX_TOKEN_LIFETIME: seconds(30 * 86_400, 60),
  })
  .superRefine((env, ctx) => {
    if (!env.AUTH_JWKS_URL && !env.AUTH_JWT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["AUTH_JWKS_URL"], message: "or AUTH_JWT_SECRET must be set" });
    }
    if (env.AUTH_JWKS_URL && env.AUTH_JWT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["AUTH_JWKS_URL"], message: "and AUTH_JWT_SECRET are both set; choose one (JWKS in production)" });
    }
    // A JWKS is often shared (Firebase, Auth0, Cognito sign tokens for every tenant with one key
    // set): without both checks, a token minted for anyone else's app would be accepted here.
    for (const claim of ["AUTH_ISSUER", "AUTH_AUDIENCE"] as const) {
      if (env.AUTH_JWKS_URL && !env[claim]) {
        ctx.addIssue({ code: "custom", path: [claim], message: "is required with AUTH_JWKS_URL (a shared key set would otherwise admit other apps' tokens)" });
      }
    }
    if (env.DEV_TOKENS === "on" && !env.AUTH_JWT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["DEV_TOKENS"], message: "works only with AUTH_JWT_SECRET (development)" });
    }
  })
  .transform((env) => {
    const claims = { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, maxTokenLifetime: env.AUTH_MAX_TOKEN_LIFETIME };
    return env.AUTH_JWKS_URL
      ? ({ kind: "jwks", jwksUrl: env.AUTH_JWKS_URL, ...claims, devTokens: false } as const)
      : ({ kind: "secret", secret: env.AUTH_JWT_SECRET!, ...claims, devTokens: env.DEV_TOKENS === "on" } as const);
  });

export const authConfig = configSection("auth", AuthSection);
export type AuthConfig = ReturnType<typeof authConfig>;
