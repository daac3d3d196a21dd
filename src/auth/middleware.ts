import { createMiddleware } from "hono/factory";
import { ApiError } from "../platform/errors";
import type { AppEnv } from "../platform/http";
import { limitAnonymous } from "../platform/request-limits";
import { authConfig } from "./config";
import { subprotocolToken } from "./subprotocol";
import { verifyToken } from "./verify";

const BEARER = /^Bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*) *$/i;

/**
 * The bearer token of `Authorization: Bearer <JWT>`, or an `unauthorized` error saying what is
 * wrong with the header.
 */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === "") throw new ApiError("unauthorized", "missing bearer token");
  const match = BEARER.exec(header);
  if (!match) throw new ApiError("unauthorized", "authorization header must be 'Bearer <JWT>'");
  return match[1]!;
}

/**
 * The request's token: the Authorization header, or, for a WebSocket upgrade without one, the
 * `bearer.<JWT>` subprotocol offered next to `signal.v1` (browsers cannot set headers there).
 * Never a token in the URL.
 */
function requestToken(header: (name: string) => string | undefined): string {
  const authorization = header("authorization");
  if (authorization === undefined && header("upgrade")?.toLowerCase() === "websocket") {
    const offered = subprotocolToken(header("sec-websocket-protocol"));
    if (offered !== undefined) return bearerToken(`Bearer ${offered}`);
  }
  return bearerToken(authorization);
}

/**
 * Verifies the caller's bearer token and puts the {@link Principal} on `c.var.principal`. A
 * refused token counts against the client IP's limit of requests without a valid token: past
 * it, the answer is `429 rate_limited` instead of `401`.
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  let principal;
  try {
    principal = await verifyToken(requestToken((name) => c.req.header(name)), authConfig(c.env));
  } catch (error) {
    if (error instanceof ApiError && error.code === "unauthorized") await limitAnonymous(c);
    throw error;
  }
  c.set("principal", principal);
  await next();
});

/** Lets only a token whose `scope` claim holds `scope` through (403 otherwise), before any validation. */
export const requireScope = (scope: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!c.var.principal.scopes.has(scope)) throw new ApiError("forbidden", `this endpoint needs a token with scope ${scope}`);
    await next();
  });
