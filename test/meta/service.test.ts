/**
 * The service's edges: health, the OpenAPI document, 404/405 as JSON, CORS as
 * section 1 describes it, and a broken configuration answered as a logged 500 that names the
 * variable without ever echoing a secret.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../../src/api";
import { version } from "../../package.json";
import { authHeader } from "../support/tokens";

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

describe("GET /healthz", () => {
  it("answers without a token", async () => {
    const response = await app.request("/healthz", {}, env);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", version });
  });
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document of the routes, with their schemas and bearer security", async () => {
    const response = await app.request("/openapi.json", {}, env);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { parameters?: { name: string }[]; security?: unknown[] }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/",
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/docs",
        "/v1/calls/ice-servers",
        "/v1/turn/credentials",
        "/v1/calls",
        "/v1/calls/{callId}",
        "/v1/calls/{callId}/accept",
        "/v1/calls/{callId}/decline",
        "/v1/calls/{callId}/end",
        "/v1/calls/{callId}/ws",
        "/v1/devices",
        "/v1/devices/{deviceId}",
        "/v1/push/send",
        "/v1/push/topics/{topic}/subscribe",
        "/v1/push/topics/{topic}/unsubscribe",
        "/v1/push/vapid-public-key",
        "/v1/admin/push/check",
        "/v1/admin/turn",
        "/v1/me/ws",
        "/v1/calls/{callId}/report",
        "/v1/admin/stats",
        "/metrics",
      ]),
    );
    // GET and POST share /v1/calls: the history and ringing list, and starting a call.
    expect(Object.keys(doc.paths["/v1/calls"]!).sort()).toEqual(["get", "post"]);
    expect(doc.paths["/v1/calls"]!.get!.parameters?.map((parameter) => parameter.name)).toEqual(["state", "limit", "before"]);
    const ice = doc.paths["/v1/calls/ice-servers"]!.get!;
    expect(ice.parameters?.map((parameter) => parameter.name)).toEqual(["ttl"]);
    expect(ice.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["IceServers", "IceServer", "Error", "Health", "CallReport", "Stats", "StatsWindow", "TurnFleet"]));
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

});

describe("unknown routes and methods", () => {
  it("answers an unknown path with 404 JSON", async () => {
    const response = await app.request("/nope", {}, env);
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({ code: "not_found", message: "no route for GET /nope" });
  });

  it("answers an unknown authenticated path with 404 JSON", async () => {
    const response = await app.request("/v1/nope", { headers: await authHeader("alice") }, env);
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("not_found");
  });

  it("answers a wrong method with 405 JSON and Allow", async () => {
    const response = await app.request("/v1/calls/ice-servers", { method: "DELETE", headers: await authHeader("alice") }, env);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(await errorOf(response)).toEqual({ code: "method_not_allowed", message: "DELETE is not allowed on /v1/calls/ice-servers" });
  });

  it("answers a wrong method on a parameterised path with 405", async () => {
    const response = await app.request("/v1/calls/AAAAAAAAAAAAAAAAAAAAAA", { method: "PUT", headers: await authHeader("alice") }, env);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
  });

  it("answers POST /healthz with 405", async () => {
    expect((await app.request("/healthz", { method: "POST" }, env)).status).toBe(405);
  });
});

describe("request bodies", () => {
  it.each([
    ["no content-type", {}],
    ["text/plain (fetch's default for a string body)", { "content-type": "text/plain;charset=UTF-8" }],
  ])("answers a JSON body sent with %s with 400 invalid_request saying what to send", async (_name, headers) => {
    const response = await app.request(
      "/v1/calls",
      { method: "POST", headers: { ...(await authHeader("alice")), ...headers }, body: JSON.stringify({ callees: ["bob"], media: "audio" }) },
      env,
    );
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(/content-type: application\/json/);
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    app.request(
      "/v1/calls/ice-servers",
      {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
      },
      env,
    );

  it("answers a preflight from an allowed origin without a token", async () => {
    const response = await preflight("https://app.example.com");
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(response.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(response.headers.get("access-control-allow-headers")).toMatch(/content-type/);
    expect(response.headers.get("vary")).toMatch(/origin/i);
  });

  it("gives a disallowed origin no CORS headers and never reflects it", async () => {
    const corsHeaders = (response: Response) => [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));
    const response = await preflight("https://evil.example.com");
    expect(response.status).toBe(403);
    expect(corsHeaders(response)).toEqual([]);
    expect(await response.text()).not.toContain("evil");
    const simple = await app.request("/v1/calls/ice-servers", { headers: { origin: "https://evil.example.com", ...(await authHeader("alice")) } }, env);
    expect(simple.status).toBe(200);
    expect(corsHeaders(simple)).toEqual([]);
  });

  it("adds the header to an allowed origin's real request, errors included", async () => {
    const response = await app.request("/v1/calls/ice-servers", { headers: { origin: "https://admin.example.com" } }, env);
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://admin.example.com");
  });

  it("allows any origin only when configured with *", async () => {
    const response = await app.request(
      "/healthz",
      { headers: { origin: "http://localhost:5173" } },
      { ...env, CORS_ALLOWED_ORIGINS: "*" },
    );
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("headers on every answer", () => {
  it("say nosniff and Vary: Origin, on successes, errors and preflights alike", async () => {
    const origin = { origin: "https://app.example.com" };
    const answers = [
      await app.request("/healthz", {}, env),
      await app.request("/healthz", { headers: origin }, env),
      await app.request("/v1/calls/ice-servers", { headers: { ...(await authHeader(`u-${crypto.randomUUID()}`)), ...origin } }, env),
      await app.request("/v1/calls/ice-servers", {}, env),
      await app.request("/nowhere", {}, env),
      await app.request("/healthz", { method: "POST" }, env),
      await app.request("/v1/devices", { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "GET" } }, env),
      await app.request("/v1/devices", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } }, env),
    ];
    expect(answers.map((response) => response.status)).toEqual([200, 200, 200, 401, 404, 405, 204, 403]);
    for (const response of answers) {
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("vary")?.split(",").map((value) => value.trim().toLowerCase())).toContain("origin");
    }
  });
});

describe("configuration errors", () => {
  it.each([
    ["TURN_SECRETS missing", { TURN_SECRETS: undefined }, "TURN_SECRETS"],
    ["TURN_SECRETS with a quote", { TURN_SECRETS: '"0123456789abcdef0123"' }, "TURN_SECRETS"],
    ["TURN_POOLS not JSON", { TURN_POOLS: "not-json-at-all" }, "TURN_POOLS"],
    ["TURN_POOLS with a bad URL", { TURN_POOLS: '[{"region":"eu","location":{"latitude":0,"longitude":0},"urls":["http://x"]}]' }, "TURN_POOLS"],
    ["TURN_MAX_TTL not a number", { TURN_MAX_TTL: "two days" }, "TURN_MAX_TTL"],
    ["no auth configured", { AUTH_JWT_SECRET: undefined }, "AUTH_JWKS_URL"],
    ["a short HS256 secret", { AUTH_JWT_SECRET: "short" }, "AUTH_JWT_SECRET"],
  ])("%s → 500 internal naming the variable, and a log line", async (_case, override, variable) => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await app.request("/v1/calls/ice-servers", { headers: await authHeader("alice") }, { ...env, ...override });
    expect(response.status).toBe(500);
    const error = await errorOf(response);
    expect(error.code).toBe("internal");
    expect(error.message).toContain(variable);
    const logged = log.mock.calls.map((call) => String(call[0])).join("\n");
    expect(logged).toContain('"event":"config_invalid"');
    expect(logged).toContain(variable);
    for (const value of Object.values(override)) if (value) expect(logged + error.message).not.toContain(value);
    log.mockRestore();
  });

  it("costs only the broken section: a malformed APNS_KEY leaves ICE servers and calls working", async () => {
    const broken = { ...env, APNS_KEY: "not a key" };
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const headers = { ...(await authHeader("alice")), "content-type": "application/json" };
    expect((await app.request("/v1/calls/ice-servers", { headers }, broken)).status).toBe(200);
    const call = await app.request("/v1/calls", { method: "POST", headers, body: JSON.stringify({ callees: ["bob"], media: "audio" }) }, broken);
    expect(call.status).toBe(201);
    expect(log).not.toHaveBeenCalled();
    log.mockRestore();
  });

  it("keeps health answering when the configuration is broken", async () => {
    expect((await app.request("/healthz", {}, { ...env, TURN_SECRETS: undefined, CORS_ALLOWED_ORIGINS: undefined })).status).toBe(200);
  });
});
