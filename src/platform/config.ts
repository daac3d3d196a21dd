import { z } from "zod";

/**
 * The service's configuration: every environment variable of the contract, parsed into typed
 * sections (`auth`, `turn`, `calls`, `signaling`, `fcm`, `apns`, `cors`). Each section parses
 * on first use, on its own: a malformed value makes reading *that* section throw a
 * {@link ConfigError} naming the variable (never its value), which `onError` turns into a logged
 * `500 internal`; every other section keeps working, so a broken `APNS_KEY` costs APNs
 * deliveries, not ICE servers or calls.
 */
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

/** Continent codes as Cloudflare reports them in `request.cf.continent`. */
const Continent = z.enum(["AF", "AN", "AS", "EU", "NA", "OC", "SA"]);

const TurnUrl = z
  .string()
  .regex(/^turns?:[^\s?]+(\?transport=(udp|tcp))?$/, "TURN URLs look like turn:host:port?transport=udp|tcp or turns:host:443?transport=tcp");

/**
 * One TURN region of `TURN_POOLS`: its coturn URLs, where it is, and the continents it serves
 * when the caller's coordinates are unknown. `stunUrls` defaults to `stun:` URLs derived from
 * the pool's plain `turn:` URLs (coturn answers STUN on its TURN port).
 */
export const TurnPoolSchema = z
  .object({
    region: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "region names are lowercase letters, digits and dashes"),
    location: z.object({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
    }),
    continents: z.array(Continent).default([]),
    urls: z.array(TurnUrl).min(1),
    stunUrls: z.array(z.string().regex(/^stuns?:/)).optional(),
  })
  .strict();

export type TurnPool = z.output<typeof TurnPoolSchema>;

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

const AuthSection = z
  .object({
    AUTH_JWKS_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    AUTH_JWT_SECRET: optionalText.pipe(z.string().min(32, "must be at least 32 characters (256 bits for HS256)").optional()),
    AUTH_ISSUER: optionalText,
    AUTH_AUDIENCE: optionalText,
    DEV_TOKENS: optionalText.pipe(z.enum(["on", "off"]).optional()),
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
    const claims = { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE };
    return env.AUTH_JWKS_URL
      ? ({ kind: "jwks", jwksUrl: env.AUTH_JWKS_URL, ...claims, devTokens: false } as const)
      : ({ kind: "secret", secret: env.AUTH_JWT_SECRET!, ...claims, devTokens: env.DEV_TOKENS === "on" } as const);
  });

const TurnSection = z
  .object({
    TURN_SECRETS: z
      .string({ error: "is required (comma-separated TURN REST API secrets)" })
      .transform(list)
      .pipe(z.array(TurnSecret).min(1, "needs at least one secret")),
    TURN_CREDENTIAL_TTL: seconds(86_400),
    TURN_MAX_TTL: seconds(172_800),
    TURN_POOLS: json(z.array(TurnPoolSchema).min(1, "needs at least one pool")),
    STUN_URLS: optionalText.transform(list).pipe(z.array(z.string().regex(/^stuns?:/, "STUN URLs start with stun: or stuns:"))),
  })
  .superRefine((env, ctx) => {
    if (env.TURN_MAX_TTL < 60) ctx.addIssue({ code: "custom", path: ["TURN_MAX_TTL"], message: "must be at least 60" });
    if (env.TURN_CREDENTIAL_TTL < 60 || env.TURN_CREDENTIAL_TTL > env.TURN_MAX_TTL) {
      ctx.addIssue({ code: "custom", path: ["TURN_CREDENTIAL_TTL"], message: "must be within [60, TURN_MAX_TTL]" });
    }
    const regions = env.TURN_POOLS.map((pool) => pool.region);
    if (new Set(regions).size !== regions.length) ctx.addIssue({ code: "custom", path: ["TURN_POOLS"], message: "region names must be unique" });
  })
  .transform((env) => ({
    secrets: env.TURN_SECRETS,
    defaultTtl: env.TURN_CREDENTIAL_TTL,
    maxTtl: env.TURN_MAX_TTL,
    pools: env.TURN_POOLS,
    stunUrls: env.STUN_URLS,
  }));

const CallsSection = z
  .object({ CALL_RING_TIMEOUT: seconds(45, 5), CALL_RETENTION: seconds(86_400, 60) })
  .transform((env) => ({
    ringTimeoutMs: env.CALL_RING_TIMEOUT * 1000,
    retentionMs: env.CALL_RETENTION * 1000,
    unattendedTimeoutMs: UNATTENDED_TIMEOUT_MS,
  }));

const SignalingSection = z
  .object({
    SIGNAL_MAX_FRAME_BYTES: wholeNumber(65_536, "bytes", 1024),
    SIGNAL_MAX_FRAMES_PER_SECOND: wholeNumber(50, "frames", 1),
    SIGNAL_MAX_CONNECTIONS: wholeNumber(8, "connections", 2),
  })
  .transform((env) => ({
    maxFrameBytes: env.SIGNAL_MAX_FRAME_BYTES,
    maxFramesPerSecond: env.SIGNAL_MAX_FRAMES_PER_SECOND,
    maxConnections: env.SIGNAL_MAX_CONNECTIONS,
  }));

/** FCM, or undefined when no service account is set (the log provider stands in). */
const FcmSection = z
  .object({
    FCM_SERVICE_ACCOUNT: z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), json(ServiceAccountSchema).optional()),
    FCM_BASE_URL: serviceUrl("https://fcm.googleapis.com"),
    FCM_IID_URL: serviceUrl("https://iid.googleapis.com"),
    GOOGLE_TOKEN_URL: serviceUrl("https://oauth2.googleapis.com/token"),
  })
  .transform((env) =>
    env.FCM_SERVICE_ACCOUNT
      ? {
          projectId: env.FCM_SERVICE_ACCOUNT.project_id,
          clientEmail: env.FCM_SERVICE_ACCOUNT.client_email,
          privateKey: env.FCM_SERVICE_ACCOUNT.private_key,
          baseUrl: env.FCM_BASE_URL,
          iidUrl: env.FCM_IID_URL,
          tokenUrl: env.GOOGLE_TOKEN_URL,
        }
      : undefined,
  );

/** APNs, or undefined when no key is set (the log provider stands in). */
const ApnsSection = z
  .object({
    APNS_KEY: optionalText.pipe(z.string().includes("PRIVATE KEY", { message: "must be the .p8 key (PEM)" }).optional()),
    APNS_KEY_ID: optionalText.pipe(z.string().regex(/^[A-Z0-9]{10}$/, "is the 10-character key id").optional()),
    APNS_TEAM_ID: optionalText.pipe(z.string().regex(/^[A-Z0-9]{10}$/, "is the 10-character team id").optional()),
    APNS_BUNDLE_ID: optionalText.pipe(z.string().regex(/^[A-Za-z0-9.-]+$/, "is an app bundle id").optional()),
    APNS_BASE_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    // The optional HTTP/1.1 → HTTP/2 relay on the TURN hosts (docs/APNS-RELAY.md): https, or http
    // to a loopback address (tests). The secret travels in a header: hex or base64 only.
    APNS_RELAY_URL: optionalText.pipe(
      z
        .url({ protocol: /^https?$/ })
        .refine((url) => new URL(url).origin === url.replace(/\/+$/, ""), "must be a bare origin (https://host:port)")
        .refine((url) => {
          const { protocol, hostname } = new URL(url);
          return protocol === "https:" || /^(localhost|127(\.[0-9]{1,3}){3}|\[::1\])$/.test(hostname);
        }, "must be https (http only to a loopback address, for tests)")
        .optional(),
    ),
    APNS_RELAY_SECRET: optionalText.pipe(
      z
        .string()
        .min(32, "must be at least 32 characters (openssl rand -hex 32)")
        .regex(/^[A-Za-z0-9_\-+/=.]+$/, "must be hex, base64 or base64url (no quotes, spaces or commas)")
        .optional(),
    ),
  })
  .superRefine((env, ctx) => {
    const apns = [env.APNS_KEY, env.APNS_KEY_ID, env.APNS_TEAM_ID, env.APNS_BUNDLE_ID];
    if (apns.some(Boolean) && !apns.every(Boolean)) {
      ctx.addIssue({ code: "custom", path: ["APNS_KEY"], message: "APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID and APNS_BUNDLE_ID go together" });
    }
    if (Boolean(env.APNS_RELAY_URL) !== Boolean(env.APNS_RELAY_SECRET)) {
      ctx.addIssue({ code: "custom", path: ["APNS_RELAY_URL"], message: "and APNS_RELAY_SECRET go together" });
    }
    if (env.APNS_RELAY_URL && env.APNS_BASE_URL) {
      ctx.addIssue({ code: "custom", path: ["APNS_RELAY_URL"], message: "and APNS_BASE_URL are both set; choose one (APNS_BASE_URL is for tests)" });
    }
    if (env.APNS_RELAY_URL && !env.APNS_KEY) {
      ctx.addIssue({ code: "custom", path: ["APNS_RELAY_URL"], message: "is set without APNS_KEY: the relay carries APNs sends, and there are none" });
    }
  })
  .transform((env) =>
    env.APNS_KEY && env.APNS_KEY_ID && env.APNS_TEAM_ID && env.APNS_BUNDLE_ID
      ? {
          key: env.APNS_KEY,
          keyId: env.APNS_KEY_ID,
          teamId: env.APNS_TEAM_ID,
          bundleId: env.APNS_BUNDLE_ID,
          baseUrl: env.APNS_BASE_URL?.replace(/\/+$/, ""),
          relay:
            env.APNS_RELAY_URL && env.APNS_RELAY_SECRET ? { url: env.APNS_RELAY_URL.replace(/\/+$/, ""), secret: env.APNS_RELAY_SECRET } : undefined,
        }
      : undefined,
  );

const CorsSection = z
  .object({
    CORS_ALLOWED_ORIGINS: optionalText
      .transform(list)
      .pipe(z.array(z.union([z.literal("*"), z.url().refine((url) => new URL(url).origin === url, "must be a bare origin")]))),
  })
  .transform((env) => ({ allowedOrigins: env.CORS_ALLOWED_ORIGINS }));

const SECTIONS = {
  auth: AuthSection,
  turn: TurnSection,
  calls: CallsSection,
  signaling: SignalingSection,
  fcm: FcmSection,
  apns: ApnsSection,
  cors: CorsSection,
};

type Sections = typeof SECTIONS;

/** The typed configuration: one property per section, each parsed when first read. */
export type Config = { readonly [Name in keyof Sections]: z.output<Sections[Name]> };
export type FcmConfig = NonNullable<Config["fcm"]>;
export type ApnsConfig = NonNullable<Config["apns"]>;

/** Thrown when a section of the environment does not parse; carries the variable names, never values. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join("; ")}`);
  }

  /** The variables to check, each once: what an operator is told (never the values). */
  get variables(): string[] {
    return [...new Set(this.problems.map((problem) => problem.variable))];
  }
}

// The env object of a Worker is the same for every request an isolate serves, so the config is
// memoised per env object (tests that pass their own env get their own config).
const configs = new WeakMap<object, Config>();

/**
 * The typed configuration for `env`, each section parsed on first use and cached for the
 * isolate's life. Reading a malformed section throws its {@link ConfigError}.
 *
 * @example
 * const { turn } = getConfig(c.env);
 */
export function getConfig(env: object): Config {
  let config = configs.get(env);
  if (!config) {
    config = sectionsOf(env);
    configs.set(env, config);
  }
  return config;
}

function sectionsOf(env: object): Config {
  const config = {};
  for (const [name, schema] of Object.entries(SECTIONS) as [keyof Sections, z.ZodType][]) {
    let parsed: { value: unknown } | ConfigError | undefined;
    Object.defineProperty(config, name, {
      enumerable: true,
      get() {
        parsed ??= parseSection(schema, env);
        if (parsed instanceof ConfigError) throw parsed;
        return parsed.value;
      },
    });
  }
  return config as Config;
}

function parseSection(schema: z.ZodType, env: object): { value: unknown } | ConfigError {
  const outcome = schema.safeParse(env);
  if (outcome.success) return { value: outcome.data };
  return new ConfigError(
    outcome.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? "environment"),
      message: issue.path.length > 1 ? `${issue.path.slice(1).join(".")}: ${issue.message}` : issue.message,
    })),
  );
}
