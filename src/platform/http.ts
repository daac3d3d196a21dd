import { OpenAPIHono, type z } from "@hono/zod-openapi";
import { ErrorBodySchema, invalidRequest } from "./errors";

/**
 * Who is calling: the bearer token's `sub` and its `scope` claim, split. The auth middleware
 * (auth/middleware.ts) establishes it; every route reads it from `c.var.principal`.
 */
export interface Principal {
  userId: string;
  scopes: ReadonlySet<string>;
}

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

/** An OpenAPI response with a JSON body of `schema`. */
export const jsonContent = (schema: z.ZodType, description: string) => ({ description, content: { "application/json": { schema } } });

/** An OpenAPI error response: the contract's error body. */
export const errorContent = (description: string) => jsonContent(ErrorBodySchema, description);

/** The OpenAPI security requirement of every `/v1` route (the scheme is registered in meta/routes.ts). */
export const bearerSecurity = [{ bearerAuth: [] }];
