import { OpenAPIHono } from "@hono/zod-openapi";
import type { Principal } from "./auth/verify";
import { invalidRequest } from "./errors";

/** Hono's environment for every route: the Worker bindings and what middleware sets. */
export interface AppEnv {
  Bindings: Env;
  Variables: { principal: Principal };
}

/**
 * A router whose request validation fails with the contract's `invalid_request` error instead
 * of @hono/zod-openapi's default body, so one schema validates, types and documents a route.
 */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw invalidRequest(result.error, result.target);
    },
  });
}
