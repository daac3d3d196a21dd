import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { configSection, list, optionalText } from "./config";
import { ApiError } from "./errors";
import type { AppEnv } from "./http";

/** `CORS_ALLOWED_ORIGINS`: bare origins, or `*` for development (contract section 1). */
const CorsSection = z
  .object({
    CORS_ALLOWED_ORIGINS: optionalText
      .transform(list)
      .pipe(z.array(z.union([z.literal("*"), z.url().refine((url) => new URL(url).origin === url, "must be a bare origin")]))),
  })
  .transform((env) => ({ allowedOrigins: env.CORS_ALLOWED_ORIGINS }));

export const corsConfig = configSection("cors", CorsSection);

// A broken configuration is reported by the routes that need it (500 naming the variable); CORS
// then simply grants nothing, and /healthz keeps answering.
function allowedOrigins(env: Env): readonly string[] {
  try {
    return corsConfig(env).allowedOrigins;
  } catch {
    return [];
  }
}

const corsForAllowedOrigin = cors({
  origin: (origin, c) => (allowedOrigins(c.env).includes("*") ? "*" : origin),
  allowMethods: ["GET", "POST", "PUT", "DELETE"],
  allowHeaders: ["authorization", "content-type"],
  exposeHeaders: ["retry-after"],
  maxAge: 600,
});

/**
 * CORS for configured origins only. Hono's middleware adds some headers (expose, preflight
 * methods) whatever the origin, so a request from any other origin never reaches it: that origin
 * gets no CORS headers at all, and its preflight a 403.
 */
export const corsForConfiguredOrigins = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("origin");
  if (origin === undefined) return next();
  const allowed = allowedOrigins(c.env);
  if (allowed.includes("*") || allowed.includes(origin)) return corsForAllowedOrigin(c, next);
  if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
    throw new ApiError("forbidden", "this origin is not allowed to call the API (CORS_ALLOWED_ORIGINS)");
  }
  return next();
});
