import { z } from "zod";
import { configSection, json, list, optionalText, SECRET_CHARACTERS, seconds } from "../platform/config";

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

/** TURN credentials and ICE servers: the secrets, lifetimes, regions and extra STUN servers. */
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

export const turnConfig = configSection("turn", TurnSection);
export type TurnConfig = ReturnType<typeof turnConfig>;
