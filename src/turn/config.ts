import { z } from "zod";
import { configSection, json, list, optionalText, SECRET_CHARACTERS, seconds, serviceUrl } from "../platform/config";

/**
 * coturn strips quotes and surrounding whitespace from `static-auth-secret`, so a secret with
 * those characters would sign credentials coturn can never verify. Refuse them here.
 */
const TurnSecret = z
  .string()
  .min(16, "each secret must be at least 16 characters")
  .regex(SECRET_CHARACTERS, "secrets must be hex, base64 or base64url (no quotes, spaces or commas)");

/** Continent codes as Cloudflare reports them in `request.cf.continent`. */
const Continent = z.enum(["AF", "AN", "AS", "EU", "NA", "OC", "SA"]);

const TurnUrl = z
  .string()
  .regex(/^turns?:[^\s?]+(\?transport=(udp|tcp))?$/, "TURN URLs look like turn:host:port?transport=udp|tcp or turns:host:443?transport=tcp");

const RegionName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "region names are lowercase letters, digits and dashes");

/**
 * One own TURN region of `TURN_POOLS` (`"provider": "coturn"`, the default): its coturn URLs,
 * where it is, and the continents it serves when the caller's coordinates are unknown.
 * `stunUrls` defaults to `stun:` URLs derived from the pool's plain `turn:` URLs (coturn answers
 * STUN on its TURN port). The URLs of one host name are one host to the health check (fleet.ts).
 */
export const TurnPoolSchema = z
  .object({
    provider: z.literal("coturn"),
    region: RegionName,
    location: z.object({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
    }),
    continents: z.array(Continent).default([]),
    urls: z.array(TurnUrl).min(1),
    stunUrls: z.array(z.string().regex(/^stuns?:/)).optional(),
  })
  .strict();

/**
 * Cloudflare Realtime TURN as a pool (`"provider": "cloudflare"`): anycast, so it has no
 * location; credentials come from its API (managed.ts) with CLOUDFLARE_TURN_KEY_ID and
 * CLOUDFLARE_TURN_API_TOKEN.
 */
const ManagedPoolSchema = z
  .object({
    provider: z.literal("cloudflare"),
    region: RegionName.default("cloudflare"),
  })
  .strict();

// A pool without `provider` is an own coturn pool, as every pool was before managed TURN.
const PoolSchema = z.preprocess(
  (value) => (value !== null && typeof value === "object" && !("provider" in value) ? { provider: "coturn", ...value } : value),
  z.discriminatedUnion("provider", [TurnPoolSchema, ManagedPoolSchema]),
);

export type TurnPool = z.output<typeof TurnPoolSchema>;

/** The managed pool as the ICE code uses it: its region name and how to reach its API. */
export interface ManagedTurnConfig {
  region: string;
  keyId: string;
  apiToken: string;
  /** `https://rtc.live.cloudflare.com` unless CLOUDFLARE_TURN_BASE_URL points at a fake. */
  baseUrl: string;
}

/** TURN credentials and ICE servers: the secrets, lifetimes, regions and extra STUN servers. */
const TurnSection = z
  .object({
    TURN_SECRETS: z
      .string({ error: "is required (comma-separated TURN REST API secrets)" })
      .optional()
      .transform(list)
      .pipe(z.array(TurnSecret)),
    TURN_CREDENTIAL_TTL: seconds(86_400),
    TURN_MAX_TTL: seconds(172_800),
    TURN_POOLS: json(z.array(PoolSchema).min(1, "needs at least one pool")),
    STUN_URLS: optionalText.transform(list).pipe(z.array(z.string().regex(/^stuns?:/, "STUN URLs start with stun: or stuns:"))),
    CLOUDFLARE_TURN_KEY_ID: optionalText.pipe(z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "is a TURN key id (letters, digits, - and _)").optional()),
    CLOUDFLARE_TURN_API_TOKEN: optionalText.pipe(z.string().regex(SECRET_CHARACTERS, "is an API token (no quotes or spaces)").optional()),
    CLOUDFLARE_TURN_BASE_URL: serviceUrl("https://rtc.live.cloudflare.com"),
  })
  .superRefine((env, ctx) => {
    if (env.TURN_MAX_TTL < 60) ctx.addIssue({ code: "custom", path: ["TURN_MAX_TTL"], message: "must be at least 60" });
    if (env.TURN_CREDENTIAL_TTL < 60 || env.TURN_CREDENTIAL_TTL > env.TURN_MAX_TTL) {
      ctx.addIssue({ code: "custom", path: ["TURN_CREDENTIAL_TTL"], message: "must be within [60, TURN_MAX_TTL]" });
    }
    const regions = env.TURN_POOLS.map((pool) => pool.region);
    if (new Set(regions).size !== regions.length) ctx.addIssue({ code: "custom", path: ["TURN_POOLS"], message: "region names must be unique" });
    const managed = env.TURN_POOLS.filter((pool) => pool.provider === "cloudflare");
    if (managed.length > 1) ctx.addIssue({ code: "custom", path: ["TURN_POOLS"], message: 'at most one pool may have "provider": "cloudflare"' });
    if (managed.length > 0) {
      for (const variable of ["CLOUDFLARE_TURN_KEY_ID", "CLOUDFLARE_TURN_API_TOKEN"] as const) {
        if (!env[variable]) ctx.addIssue({ code: "custom", path: [variable], message: 'is required by the "provider": "cloudflare" pool of TURN_POOLS' });
      }
    }
    if (env.TURN_POOLS.some((pool) => pool.provider === "coturn") && env.TURN_SECRETS.length === 0) {
      ctx.addIssue({ code: "custom", path: ["TURN_SECRETS"], message: "is required (comma-separated TURN REST API secrets) by the coturn pools of TURN_POOLS" });
    }
  })
  .transform((env) => {
    const managed = env.TURN_POOLS.find((pool) => pool.provider === "cloudflare");
    return {
      secrets: env.TURN_SECRETS,
      defaultTtl: env.TURN_CREDENTIAL_TTL,
      maxTtl: env.TURN_MAX_TTL,
      pools: env.TURN_POOLS.filter((pool): pool is TurnPool => pool.provider === "coturn"),
      managed:
        managed && env.CLOUDFLARE_TURN_KEY_ID && env.CLOUDFLARE_TURN_API_TOKEN
          ? ({ region: managed.region, keyId: env.CLOUDFLARE_TURN_KEY_ID, apiToken: env.CLOUDFLARE_TURN_API_TOKEN, baseUrl: env.CLOUDFLARE_TURN_BASE_URL } satisfies ManagedTurnConfig)
          : undefined,
      stunUrls: env.STUN_URLS,
    };
  });

export const turnConfig = configSection("turn", TurnSection);
export type TurnConfig = ReturnType<typeof turnConfig>;
