import type { Context } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { ApiError, errorResponse } from "./errors";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * The app's `notFound`: `405 method_not_allowed` with `Allow` when the path exists under another
 * method, else `404 not_found`. Both in the contract's JSON error shape.
 */
export function notFound(app: { routes: readonly { method: string; path: string }[] }) {
  // Built on first use, when every route has been registered.
  let routes: TrieRouter<string> | undefined;
  return (c: Context) => {
    if (!routes) {
      routes = new TrieRouter<string>();
      for (const route of app.routes) {
        if (METHODS.includes(route.method as (typeof METHODS)[number])) routes.add(route.method, route.path, route.method);
      }
    }
    const allowed = METHODS.filter((method) => routes!.match(method, c.req.path)[0].some(([handler]) => handler === method));
    if (allowed.length > 0) {
      const allow = allowed.includes("GET") ? [...allowed, "HEAD"] : allowed;
      return errorResponse(
        c,
        new ApiError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}`, undefined, { allow: allow.join(", ") }),
      );
    }
    return errorResponse(c, new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`));
  };
}
