import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import { version } from "../../package.json";
import { newRouter, type AppEnv } from "../platform/http";

const HealthSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string().openapi({ example: "0.1.0" }),
  })
  .openapi("Health");

/** `GET /healthz`: no token, no configuration, no I/O, so it says the Worker itself is up. */
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
  // A human page for the OpenAPI document. Swagger UI's assets come from its CDN in the
  // reader's browser; the Worker only serves this small HTML page.
  .get("/docs", swaggerUI({ url: "/openapi.json", title: "SecureConnect Edge API" }));

/**
 * Serves the OpenAPI 3.1 document of every route registered on `app` at `GET /openapi.json`,
 * generated from the same zod schemas that validate the requests.
 */
export function serveOpenApi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A JWT whose `sub` is the user id (section 2 of the contract).",
  });
  // The two routes that serve the documentation are routes too (contract: "all HTTP routes").
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/openapi.json",
    tags: ["Service"],
    summary: "This OpenAPI 3.1 document",
    responses: { 200: { description: "The document", content: { "application/json": { schema: { type: "object" } } } } },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/docs",
    tags: ["Service"],
    summary: "Human-readable API docs (Swagger UI) for this document",
    responses: { 200: { description: "An HTML page", content: { "text/html": { schema: { type: "string" } } } } },
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "SecureConnect Edge",
      version,
      description: "WebRTC calling backend on Cloudflare Workers: ICE/TURN credentials, signaling, push.",
    },
  });
}
