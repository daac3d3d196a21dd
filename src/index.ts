import { cors } from "hono/cors";
import { newRouter } from "./app";
import { requireAuth } from "./auth/middleware";
import { getConfig } from "./config";
import { onError } from "./errors";
import { metaRoutes, serveOpenApi } from "./meta/routes";
import { notFound } from "./routing";
import { turnRoutes } from "./turn/routes";

const app = newRouter();

app.use(
  "*",
  cors({
    // Only configured origins are echoed back; anything else gets no CORS headers at all.
    origin: (origin, c) => {
      const allowed = getConfig(c.env).cors.allowedOrigins;
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

app.route("/", metaRoutes);
app.route("/v1", turnRoutes);
serveOpenApi(app);

app.notFound(notFound(app));
app.onError(onError);

export default app satisfies ExportedHandler<Env>;
