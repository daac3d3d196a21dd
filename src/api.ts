import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { newRouter } from "./app";
import { callRoutes } from "./calls/routes";
import { deviceRoutes } from "./devices/routes";
import { pushRoutes } from "./push/routes";
import { requireAuth } from "./auth/middleware";
import { getConfig } from "./config";
import { ApiError, onError } from "./errors";
import { devRoutes } from "./meta/dev";
import { metaRoutes, serveOpenApi } from "./meta/routes";
import { notFound } from "./routing";
import { turnRoutes } from "./turn/routes";

const MAX_BODY_BYTES = 64 * 1024;

/** The HTTP API: every route, its middleware, OpenAPI, and the one error handler. */
export const app = newRouter();

app.use(
  "*",
  cors({
    // Only configured origins are echoed back; anything else gets no CORS headers at all.
    origin: (origin, c) => {
      const allowed = allowedOrigins(c.env);
      if (allowed.includes("*")) return "*";
      return allowed.includes(origin) ? origin : null;
    },
    allowMethods: ["GET", "POST", "PUT", "DELETE"],
    allowHeaders: ["authorization", "content-type"],
    exposeHeaders: ["retry-after"],
    maxAge: 600,
  }),
);
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

app.notFound(notFound(app));
app.onError(onError);

