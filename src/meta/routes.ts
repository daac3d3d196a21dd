import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { version } from "../../package.json";
import { authConfig } from "../auth/config";
import { bearerToken } from "../auth/middleware";
import { verifyToken } from "../auth/verify";
import { sectionStates, tryConfig } from "../platform/config";
import { newRouter, type AppEnv } from "../platform/http";

const HealthSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string().openapi({ example: "0.1.0" }),
  })
  .openapi("Health");

const SectionStateSchema = z
  .discriminatedUnion("status", [
    z.object({ status: z.literal("ok") }),
    z.object({ status: z.literal("not_configured") }).openapi({ description: "Unset, and the service runs without it (e.g. FCM: pushes go to the log)" }),
    z.object({ status: z.literal("invalid"), variables: z.array(z.string()).optional().openapi({ example: ["TURN_POOLS"] }) }).openapi({
      description: "The variables to fix (never their values; named to a token with scope admin); the routes that need this section answer 500 until then",
    }),
  ])
  .openapi("ConfigSectionState");

const ReadinessSchema = z
  .object({
    status: z.enum(["ready", "not_ready"]),
    version: z.string().openapi({ example: "0.1.0" }),
    sections: z.record(z.string(), SectionStateSchema).openapi({
      example: { auth: { status: "ok" }, turn: { status: "invalid", variables: ["TURN_POOLS"] }, fcm: { status: "not_configured" } },
    }),
  })
  .openapi("Readiness");

const readiness = { "application/json": { schema: ReadinessSchema } };

/**
 * `GET /healthz`: no token, no configuration, no I/O, so it says the Worker itself is up.
 * `GET /readyz`: whether the configuration lets it serve: every section of every feature.
 */
export const metaRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      tags: ["Service"],
      summary: "Liveness",
      responses: { 200: { description: "The service is up", content: { "application/json": { schema: HealthSchema } } } },
    }),
    (c) => c.json({ status: "ok" as const, version }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/readyz",
      tags: ["Service"],
      summary: "Readiness: the state of each configuration section",
      description:
        "Parses every configuration section (auth, turn, calls, signaling, fcm, apns, cors, demo, …) and reports each as `ok`, " +
        "`not_configured` (an optional feature left out) or `invalid`, never a value; 503 while any section is invalid. " +
        "No token needed (counted like `/healthz` against the per-IP limit); with a token of scope `admin`, an invalid section also names the variables to fix.",
      responses: {
        200: { description: "Every section parses", content: readiness },
        503: { description: "At least one section is invalid", content: readiness },
      },
    }),
    async (c) => {
      const states = sectionStates(c.env);
      const ready = Object.values(states).every((state) => state.status !== "invalid");
      // Which variables are wrong is for the operator: anyone else learns only which sections are.
      const sections = (await isAdmin(c)) ? states : Object.fromEntries(Object.entries(states).map(([name, { status }]) => [name, { status }]));
      c.header("cache-control", "no-store");
      return ready ? c.json({ status: "ready" as const, version, sections }, 200) : c.json({ status: "not_ready" as const, version, sections }, 503);
    },
  );

/** Whether the request carries a valid token with scope `admin` (never an error: readiness answers anyone). */
async function isAdmin(c: Context<AppEnv>): Promise<boolean> {
  const header = c.req.header("authorization");
  const auth = tryConfig(authConfig, c.env);
  if (header === undefined || auth instanceof Error) return false;
  try {
    return (await verifyToken(bearerToken(header), auth)).scopes.has("admin");
  } catch {
    return false;
  }
}

/**
 * Serves the OpenAPI 3.1 document of every route registered on `app` at `GET /openapi.json`,
 * generated from the same zod schemas that validate the requests.
 */
export function serveOpenApi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A JWT whose `sub` is the user id.",
  });
  // The routes that serve the documentation and the pages are routes too (contract: "all HTTP routes").
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/openapi.json",
    tags: ["Service"],
    summary: "This OpenAPI 3.1 document",
    responses: { 200: { description: "The document", content: { "application/json": { schema: { type: "object" } } } } },
  });
  const page = (path: string, summary: string) =>
    app.openAPIRegistry.registerPath({
      method: "get",
      path,
      tags: ["Service"],
      summary,
      responses: { 200: { description: "An HTML page", content: { "text/html": { schema: { type: "string" } } } } },
    });
  page("/", "Landing page: links to the docs, the OpenAPI document, health, readiness and (with DEMO=on) the demo");
  page("/docs", "Human-readable API docs (Swagger UI, served by this Worker) for this document");
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "SecureConnect Edge",
      version,
      description: "WebRTC calling backend on Cloudflare Workers: ICE/TURN credentials, signaling, push.",
      license: { name: "MIT", url: "https://opensource.org/license/mit" },
    },
  });
}
