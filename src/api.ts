import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requireAuth } from "./auth/middleware";
import { callRoutes } from "./calls/routes";
import { deviceRoutes } from "./devices/routes";
import { devRoutes } from "./meta/dev";
import { metaRoutes, serveOpenApi } from "./meta/routes";
import { getConfig } from "./platform/config";
import { ApiError, errorResponse, onError } from "./platform/errors";
import { newRouter } from "./platform/http";
import { limitAnonymous } from "./platform/rate-limit";
import { pushRoutes } from "./push/routes";
import { turnRoutes } from "./turn/routes";

const MAX_BODY_BYTES = 64 * 1024;

/** The HTTP API: every route, its middleware, OpenAPI, and the one error handler. */
export const app = newRouter();

// A path that exists under other methods: 405 with `Allow`, in the contract's error shape.
app.use(
  methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) =>
      errorResponse(c, new ApiError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}`, { headers: { allow: methods.join(", ") } })),
  }),
);

// CORS for configured origins only. Hono's middleware adds some headers (expose, preflight
// methods) whatever the origin, so a request from any other origin never reaches it: that origin
// gets no CORS headers at all, and its preflight a 403.
const corsForAllowedOrigin = cors({
  origin: (origin, c) => (allowedOrigins(c.env).includes("*") ? "*" : origin),
  allowMethods: ["GET", "POST", "PUT", "DELETE"],
  allowHeaders: ["authorization", "content-type"],
  exposeHeaders: ["retry-after"],
  maxAge: 600,
});
app.use("*", async (c, next) => {
  const origin = c.req.header("origin");
  if (origin === undefined) return next();
  const allowed = allowedOrigins(c.env);
  if (allowed.includes("*") || allowed.includes(origin)) return corsForAllowedOrigin(c, next);
  if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
    throw new ApiError("forbidden", "this origin is not allowed to call the API (CORS_ALLOWED_ORIGINS)");
  }
  return next();
});
// Routes that need no token count against the client IP's limit; a preflight costs nothing and
// is not counted. /v1 requests count only when their token is refused (requireAuth).
app.use("*", async (c, next) => {
  if (!c.req.path.startsWith("/v1/") && c.req.method !== "OPTIONS") await limitAnonymous(c);
  return next();
});
app.use("/v1/*", requireAuth);
// Request bodies are small JSON documents; anything larger is refused before it is parsed.
app.use(
  "/v1/*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", `request body larger than ${MAX_BODY_BYTES} bytes`);
    },
  }),
);

// A broken configuration is reported by the routes that need it (500 naming the variable); CORS
// then simply grants nothing, and /healthz keeps answering.
function allowedOrigins(env: Env): readonly string[] {
  try {
    return getConfig(env).cors.allowedOrigins;
  } catch {
    return [];
  }
}

app.route("/", metaRoutes);
app.route("/", devRoutes);
// Before the calls routes: `/v1/calls/ice-servers` must not be read as a call id.
app.route("/v1", turnRoutes);
app.route("/v1", callRoutes);
app.route("/v1", deviceRoutes);
app.route("/v1", pushRoutes);
serveOpenApi(app);

app.notFound((c) => errorResponse(c, new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`)));
app.onError(onError);

