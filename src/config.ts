import { z } from "zod";
import { TurnPoolSchema } from "./turn/regions";

/**
 * The service's configuration: every environment variable of the contract, parsed once per
 * isolate into a typed object. A missing or malformed value makes {@link getConfig} throw a
 * {@link ConfigError} that names the variable (never its value), which `onError` turns into a
 * logged `500 internal` instead of a crash loop.
 */
export type Config = z.output<typeof ConfigSchema>;

const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

const wholeNumber = (fallback: number, unit: string, min: number) =>
  z
    .string()
    .regex(/^[0-9]{1,9}$/, `must be a whole number of ${unit}`)
    .optional()
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .pipe(z.number().min(min, `must be at least ${min}`));

const seconds = (fallback: number, min = 0) => wholeNumber(fallback, "seconds", min);

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

/** A JSON variable may arrive as a string (secret, .dev.vars) or already parsed ([vars] table). */
const json = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value, ctx) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "is not valid JSON" });
      return z.NEVER;
    }
  }, schema);

/**
 * coturn strips quotes and surrounding whitespace from `static-auth-secret`, so a secret with
 * those characters would sign credentials coturn can never verify. Refuse them here.
 */
const TurnSecret = z
  .string()
  .min(16, "each secret must be at least 16 characters")
  .regex(/^[A-Za-z0-9_\-+/=.]+$/, "secrets must be hex, base64 or base64url (no quotes, spaces or commas)");

/** An active call whose every socket has been closed this long ends with reason `failed`. */
const UNATTENDED_TIMEOUT_MS = 120_000;

/** The fields of a Google service-account JSON that FCM needs. */
const ServiceAccountSchema = z.looseObject({
  project_id: z.string().min(1),
  client_email: z.string().min(3),
  private_key: z.string().includes("PRIVATE KEY", { message: "must hold a PEM private key" }),
});

const serviceUrl = (fallback: string) =>
  optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()).transform((value) => (value ?? fallback).replace(/\/+$/, ""));

const ConfigSchema = z
  .object({
    AUTH_JWKS_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    AUTH_JWT_SECRET: optionalText.pipe(
      z.string().min(32, "must be at least 32 characters (256 bits for HS256)").optional(),
    ),
    AUTH_ISSUER: optionalText,
    AUTH_AUDIENCE: optionalText,
    TURN_SECRETS: z
      .string({ error: "is required (comma-separated TURN REST API secrets)" })
      .transform(list)
      .pipe(z.array(TurnSecret).min(1, "needs at least one secret")),
    TURN_CREDENTIAL_TTL: seconds(86_400),
    TURN_MAX_TTL: seconds(172_800),
    TURN_POOLS: json(z.array(TurnPoolSchema).min(1, "needs at least one pool")),
    STUN_URLS: optionalText
      .transform(list)
      .pipe(z.array(z.string().regex(/^stuns?:/, "STUN URLs start with stun: or stuns:"))),
    CALL_RING_TIMEOUT: seconds(45, 5),
    CALL_RETENTION: seconds(86_400, 60),
    SIGNAL_MAX_FRAME_BYTES: wholeNumber(65_536, "bytes", 1024),
    SIGNAL_MAX_FRAMES_PER_SECOND: wholeNumber(50, "frames", 1),
    SIGNAL_MAX_CONNECTIONS: wholeNumber(8, "connections", 2),
    FCM_SERVICE_ACCOUNT: z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), json(ServiceAccountSchema).optional()),
    FCM_BASE_URL: serviceUrl("https://fcm.googleapis.com"),
    FCM_IID_URL: serviceUrl("https://iid.googleapis.com"),
    GOOGLE_TOKEN_URL: serviceUrl("https://oauth2.googleapis.com/token"),
    APNS_KEY: optionalText.pipe(z.string().includes("PRIVATE KEY", { message: "must be the .p8 key (PEM)" }).optional()),
    APNS_KEY_ID: optionalText.pipe(z.string().regex(/^[A-Z0-9]{10}$/, "is the 10-character key id").optional()),
    APNS_TEAM_ID: optionalText.pipe(z.string().regex(/^[A-Z0-9]{10}$/, "is the 10-character team id").optional()),
    APNS_BUNDLE_ID: optionalText.pipe(z.string().regex(/^[A-Za-z0-9.-]+$/, "is an app bundle id").optional()),
    APNS_BASE_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    DEV_TOKENS: optionalText.pipe(z.enum(["on", "off"]).optional()),
    CORS_ALLOWED_ORIGINS: optionalText.transform(list).pipe(
      z.array(
        z.union([z.literal("*"), z.url().refine((url) => new URL(url).origin === url, "must be a bare origin")]),
      ),
    ),
  })
  .superRefine((env, ctx) => {
    if (!env.AUTH_JWKS_URL && !env.AUTH_JWT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["AUTH_JWKS_URL"], message: "or AUTH_JWT_SECRET must be set" });
    }
    if (env.AUTH_JWKS_URL && env.AUTH_JWT_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_JWKS_URL"],
        message: "and AUTH_JWT_SECRET are both set; choose one (JWKS in production)",
      });
    }
    if (env.DEV_TOKENS === "on" && !env.AUTH_JWT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["DEV_TOKENS"], message: "works only with AUTH_JWT_SECRET (development)" });
    }
    if (env.TURN_MAX_TTL < 60) {
      ctx.addIssue({ code: "custom", path: ["TURN_MAX_TTL"], message: "must be at least 60" });
    }
    if (env.TURN_CREDENTIAL_TTL < 60 || env.TURN_CREDENTIAL_TTL > env.TURN_MAX_TTL) {
      ctx.addIssue({ code: "custom", path: ["TURN_CREDENTIAL_TTL"], message: "must be within [60, TURN_MAX_TTL]" });
    }
    const apns = [env.APNS_KEY, env.APNS_KEY_ID, env.APNS_TEAM_ID, env.APNS_BUNDLE_ID];
    if (apns.some(Boolean) && !apns.every(Boolean)) {
      ctx.addIssue({ code: "custom", path: ["APNS_KEY"], message: "APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID and APNS_BUNDLE_ID go together" });
    }
    const regions = env.TURN_POOLS.map((pool) => pool.region);
    if (new Set(regions).size !== regions.length) {
      ctx.addIssue({ code: "custom", path: ["TURN_POOLS"], message: "region names must be unique" });
    }
  })
  .transform((env) => ({
    auth: env.AUTH_JWKS_URL
      ? ({ kind: "jwks", jwksUrl: env.AUTH_JWKS_URL, issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE } as const)
      : ({ kind: "secret", secret: env.AUTH_JWT_SECRET!, issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE } as const),
    turn: {
      secrets: env.TURN_SECRETS,
      defaultTtl: env.TURN_CREDENTIAL_TTL,
      maxTtl: env.TURN_MAX_TTL,
      pools: env.TURN_POOLS,
      stunUrls: env.STUN_URLS,
    },
    calls: {
      ringTimeoutMs: env.CALL_RING_TIMEOUT * 1000,
      retentionMs: env.CALL_RETENTION * 1000,
      unattendedTimeoutMs: UNATTENDED_TIMEOUT_MS,
    },
    signaling: {
      maxFrameBytes: env.SIGNAL_MAX_FRAME_BYTES,
      maxFramesPerSecond: env.SIGNAL_MAX_FRAMES_PER_SECOND,
      maxConnections: env.SIGNAL_MAX_CONNECTIONS,
    },
    push: {
      fcm: env.FCM_SERVICE_ACCOUNT
        ? {
            projectId: env.FCM_SERVICE_ACCOUNT.project_id,
            clientEmail: env.FCM_SERVICE_ACCOUNT.client_email,
            privateKey: env.FCM_SERVICE_ACCOUNT.private_key,
            baseUrl: env.FCM_BASE_URL,
            iidUrl: env.FCM_IID_URL,
            tokenUrl: env.GOOGLE_TOKEN_URL,
          }
        : undefined,
      apns:
        env.APNS_KEY && env.APNS_KEY_ID && env.APNS_TEAM_ID && env.APNS_BUNDLE_ID
          ? {
              key: env.APNS_KEY,
              keyId: env.APNS_KEY_ID,
              teamId: env.APNS_TEAM_ID,
              bundleId: env.APNS_BUNDLE_ID,
              baseUrl: env.APNS_BASE_URL?.replace(/\/+$/, ""),
            }
          : undefined,
    },
    cors: { allowedOrigins: env.CORS_ALLOWED_ORIGINS },
    devTokens: env.DEV_TOKENS === "on",
  }));

/** Thrown when the environment does not parse; carries the variable names, never values. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join("; ")}`);
  }
}

// The env object of a Worker is the same for every request an isolate serves, so parsing is
// memoised per env object (tests that pass their own env get their own config).
const parsed = new WeakMap<object, Config | ConfigError>();

/**
 * The typed configuration for `env`, parsed on first use and cached for the isolate's life.
 *
 * @example
 * const { turn } = getConfig(c.env);
 */
export function getConfig(env: object): Config {
  let result = parsed.get(env);
  if (!result) {
    const outcome = ConfigSchema.safeParse(env);
    result = outcome.success
      ? outcome.data
      : new ConfigError(
          outcome.error.issues.map((issue) => ({
            variable: String(issue.path[0] ?? "environment"),
            message: issue.path.length > 1 ? `${issue.path.slice(1).join(".")}: ${issue.message}` : issue.message,
          })),
        );
    parsed.set(env, result);
  }
  if (result instanceof ConfigError) throw result;
  return result;
}
