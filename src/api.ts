import { bodyLimit } from "hono/body-limit";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requireAuth, requireScope } from "./auth/middleware";
import { reportRoutes } from "./calls/report";
import { callRoutes } from "./calls/routes";
import { deviceRoutes } from "./devices/routes";
import { devRoutes } from "./meta/dev";
import { pageRoutes } from "./meta/pages";
import { metaRoutes, serveOpenApi } from "./meta/routes";
import { opsRoutes } from "./ops/routes";
import { corsForConfiguredOrigins } from "./platform/cors";
import { ApiError, onError } from "./platform/errors";
import { newRouter } from "./platform/http";
import { limitAnonymous } from "./platform/request-limits";
import { registrationPolicy } from "./push/registration-policy";
import { pushRoutes } from "./push/routes";
import { turnRoutes } from "./turn/routes";

const MAX_BODY_BYTES = 64 * 1024;

/** The HTTP API: every route, its middleware, OpenAPI, and the one error handler. */
export const app = newRouter();

// What every answer of the Worker carries, errors included (not a WebSocket upgrade: the runtime
// owns that response). CORS makes every answer depend on Origin (a configured origin gets CORS
// headers, any other none), so caches must key on it.
app.use("*", async (c, next) => {
  await next();
  if (c.res.status === 101) return;
  c.header("x-content-type-options", "nosniff");
  if (!/\borigin\b/i.test(c.res.headers.get("vary") ?? "")) c.header("vary", "Origin", { append: true });
});

// A path that exists under other methods: 405 with `Allow`, in the contract's error shape.
app.use(
  methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) =>
      new ApiError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}`, { headers: { allow: methods.join(", ") } }).getResponse(),
  }),
);

app.use("*", corsForConfiguredOrigins);
// Routes that need no token count against the client IP's limit; a preflight costs nothing and
// is not counted. /v1 requests count only when their token is refused (requireAuth).
app.use("*", async (c, next) => {
  if (!c.req.path.startsWith("/v1/") && c.req.method !== "OPTIONS") await limitAnonymous(c);
  return next();
});
app.use("/v1/*", requireAuth);
// Operations (GET /v1/admin/turn, POST /v1/admin/push/check, ...) need their own scope.
app.use("/v1/admin/*", requireScope("admin"));
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

app.route("/", metaRoutes);
app.route("/", pageRoutes);
app.route("/", devRoutes);
// Before the calls routes: `/v1/calls/ice-servers` must not be read as a call id.
app.route("/v1", turnRoutes);
app.route("/v1", callRoutes);
app.route("/v1", reportRoutes);
app.route("/v1", deviceRoutes(registrationPolicy));
app.route("/v1", pushRoutes);
app.route("/", opsRoutes);
serveOpenApi(app);

app.notFound((c) => new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`).getResponse());
app.onError(onError);

