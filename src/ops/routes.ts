import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { requireAuth, requireScope } from "../auth/middleware";
import { readCounters } from "../metrics/recorder";
import { minuteOf } from "../metrics/rollup";
import { bearerSecurity, errorContent, jsonContent, newRouter, type AppEnv } from "../platform/http";
import { opsConfig } from "./config";
import { prometheusText } from "./prometheus";
import { readStats, StatsSchema } from "./stats";

/**
 * `/metrics` takes `METRICS_TOKEN` as its bearer (what a Prometheus scrape config holds), or an
 * admin JWT like every other operator route.
 */
const metricsAccess = createMiddleware<AppEnv>(async (c, next) => {
  const secret = opsConfig(c.env).metricsToken;
  const presented = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (secret !== undefined && presented !== undefined && (await sameSecret(presented, secret))) await next();
  else await requireAuth(c, async () => void (await requireScope("admin")(c, next)));
});

/** Compares digests in constant time, so the comparison says nothing of the secret's prefix. */
async function sameSecret(presented: string, secret: string): Promise<boolean> {
  const digest = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const [a, b] = await Promise.all([digest(presented), digest(secret)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** The operator's routes (docs/observability.md): stats (scope admin) and the Prometheus scrape. */
export const opsRoutes = newRouter();
opsRoutes.use("/v1/admin/stats", requireScope("admin"));
opsRoutes.use("/metrics", metricsAccess);
opsRoutes
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/admin/stats",
      tags: ["Admin"],
      summary: "Calls, ICE success, time to connected, push delivery and the queue, last hour and last 24 h (scope admin)",
      description: "From the per-minute counters every instance keeps (docs/observability.md); the status page at /status/ charts the same.",
      security: bearerSecurity,
      responses: {
        200: jsonContent(StatsSchema, "The figures"),
        401: errorContent("Missing or invalid bearer token"),
        403: errorContent("Token lacks scope admin"),
      },
    }),
    async (c) => c.json(await readStats(c.env), 200, { "cache-control": "no-store" }),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      tags: ["Admin"],
      summary: "The counters in the Prometheus text format (bearer METRICS_TOKEN, or scope admin)",
      security: bearerSecurity,
      responses: {
        200: { description: "Prometheus text exposition format 0.0.4", content: { "text/plain": { schema: z.string() } } },
        401: errorContent("Missing or invalid bearer token"),
        403: errorContent("Token lacks scope admin"),
      },
    }),
    async (c) => {
      const { totals } = await readCounters(c.env, { until: minuteOf(Date.now()), windows: [], series: [], totals: true });
      return c.text(prometheusText(totals), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" });
    },
  );
