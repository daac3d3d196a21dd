/**
 * Readiness and the pages a person opens. `/readyz` reports every configuration section the app
 * declares (also those of modules the meta routes never import: the list is the app's), each as
 * ok, not configured or invalid (with its variables to a token of scope admin), never a value, and
 * answers 503 while one is invalid; it needs no token and counts against the per-IP limit. `/` links everything, `/docs`
 * is Swagger UI from this Worker's own assets under a CSP that names its one inline script, and
 * `/demo/` is served only with DEMO=on. Not covered here: that the docs UI renders in a browser
 * with no other host reachable (test/e2e/demo.test.ts does that).
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../../src/api";
import { version } from "../../package.json";
import { authHeader } from "../support/tokens";

type Readiness = { status: string; version: string; sections: Record<string, { status: string; variables?: string[] }> };
const readiness = async (overrides: Record<string, unknown> = {}, init: RequestInit = {}) => {
  const response = await app.request("/readyz", { headers: await authHeader("ops", { scope: "admin" }), ...init }, { ...env, ...overrides });
  return { response, body: (await response.json()) as Readiness };
};

describe("GET /readyz", () => {
  it("lists every section of the app, each ok, and answers 200 ready", async () => {
    const { response, body } = await readiness();
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(body.status).toBe("ready");
    expect(body.version).toBe(version);
    expect(Object.keys(body.sections)).toEqual(expect.arrayContaining(["auth", "turn", "calls", "signaling", "fcm", "apns", "cors", "demo"]));
    for (const state of Object.values(body.sections)) expect(state).toEqual({ status: "ok" });
  });

  it("reports a broken TURN_POOLS by name, never its value, with 503, while /healthz stays ok and the routes that need it fail", async () => {
    const broken = { TURN_POOLS: '[{"region":"eu","location":{"latitude":0,"longitude":0},"urls":["http://secret-host.example"]}]' };
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const { response, body } = await readiness(broken);
    expect(response.status).toBe(503);
    expect(body.status).toBe("not_ready");
    expect(body.sections.turn).toEqual({ status: "invalid", variables: ["TURN_POOLS"] });
    expect(body.sections.auth).toEqual({ status: "ok" });
    expect(JSON.stringify(body)).not.toContain("secret-host");
    expect((await app.request("/healthz", {}, { ...env, ...broken })).status).toBe(200);
    expect((await app.request("/v1/calls/ice-servers", { headers: await authHeader("alice") }, { ...env, ...broken })).status).toBe(500);
    log.mockRestore();
  });

  it("names every wrong variable of every section at once, to an admin", async () => {
    const { response, body } = await readiness({ TURN_SECRETS: '"quoted-secret-0123456789"', CALL_RING_TIMEOUT: "soon", DEMO: "yes" });
    expect(response.status).toBe(503);
    expect(body.sections.turn).toEqual({ status: "invalid", variables: ["TURN_SECRETS"] });
    expect(body.sections.calls).toEqual({ status: "invalid", variables: ["CALL_RING_TIMEOUT"] });
    expect(body.sections.demo).toEqual({ status: "invalid", variables: ["DEMO"] });
    for (const value of ["quoted-secret", "soon", "yes"]) expect(JSON.stringify(body)).not.toContain(value);
  });

  it("takes a ring timeout from one second (a test suite's missed call), not zero", async () => {
    expect((await readiness({ CALL_RING_TIMEOUT: "1" })).body.sections.calls).toEqual({ status: "ok" });
    expect((await readiness({ CALL_RING_TIMEOUT: "0" })).body.sections.calls).toEqual({ status: "invalid", variables: ["CALL_RING_TIMEOUT"] });
  });

  it("tells anyone else which sections are invalid, not which variables; nor an admin whose token cannot be checked", async () => {
    const anonymous = await readiness({ TURN_SECRETS: '"quoted-secret-0123456789"' }, { headers: {} });
    expect(anonymous.response.status).toBe(503);
    expect(anonymous.body.sections.turn).toEqual({ status: "invalid" });
    const plain = await readiness({ TURN_SECRETS: '"quoted-secret-0123456789"' }, { headers: await authHeader("someone") });
    expect(plain.body.sections.turn).toEqual({ status: "invalid" });
    // A broken auth section cannot verify the admin's token: its state shows, its variables do not.
    const brokenAuth = await readiness({ AUTH_JWT_SECRET: "short-secret-value" });
    expect(brokenAuth.response.status).toBe(503);
    expect(brokenAuth.body.sections.auth).toEqual({ status: "invalid" });
    expect(JSON.stringify(brokenAuth.body)).not.toContain("short-secret-value");
  });

  it("counts push providers left unset as not configured, which is ready", async () => {
    const unset = { FCM_SERVICE_ACCOUNT: undefined, APNS_KEY: undefined, APNS_KEY_ID: undefined, APNS_TEAM_ID: undefined, APNS_BUNDLE_ID: undefined };
    const { response, body } = await readiness(unset);
    expect(response.status).toBe(200);
    expect(body.sections.fcm).toEqual({ status: "not_configured" });
    expect(body.sections.apns).toEqual({ status: "not_configured" });
    expect(body.sections.turn).toEqual({ status: "ok" });
  });

  it("needs no token and counts against the client IP's anonymous limit", async () => {
    const keys: string[] = [];
    const limiter = { limit: async ({ key }: { key: string }) => (keys.push(key), { success: false }) };
    const { response } = await readiness({ ANONYMOUS_RATE_LIMIT: limiter }, { headers: { "cf-connecting-ip": "198.51.100.7" } });
    expect(response.status).toBe(429);
    expect(keys).toEqual(["198.51.100.7"]);
  });
});

describe("GET /", () => {
  it("links the docs, the document, health, readiness and the demo", async () => {
    const response = await app.request("/", {}, env);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await response.text();
    for (const href of ["/demo/", "/docs", "/openapi.json", "/healthz", "/readyz"]) expect(html).toContain(`href="${href}"`);
  });

  it("leaves the demo out when it is off", async () => {
    const html = await (await app.request("/", {}, { ...env, DEMO: "off" })).text();
    expect(html).not.toContain("/demo/");
    expect(html).toContain('href="/docs"');
  });
});

describe("GET /docs", () => {
  it("is Swagger UI from this Worker's assets, no other host, under a CSP that allows its one inline script by hash", async () => {
    const response = await app.request("/docs", {}, env);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toContain('src="/docs-ui/swagger-ui-bundle.js"');
    expect(html).toContain('href="/docs-ui/swagger-ui.css"');
    expect(html).toContain('href="/openapi.json"');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]!);
    expect(inline).toHaveLength(1);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(inline[0]));
    const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
    const csp = response.headers.get("content-security-policy")!;
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
  });

  it("has its UI files among the static assets (npm run build:client copies the pinned swagger-ui-dist)", async () => {
    for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
      const asset = await env.ASSETS.fetch(`http://edge.test/docs-ui/${file}`);
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
  });
});

describe("GET /demo/", () => {
  it("serves the demo page with DEMO=on", async () => {
    const response = await exports.default.fetch("http://edge.test/demo/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'; style-src 'self'; connect-src 'self'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const page = await response.text();
    expect(page).toContain("SecureConnect Edge demo");
    // No inline script or style: the CSP allows this origin's files only.
    expect(page).not.toMatch(/<script>|<script type="module">|<style>/);
    expect((await exports.default.fetch("http://edge.test/demo/demo.js")).status).toBe(200);
    expect((await exports.default.fetch("http://edge.test/demo/sdk.js")).status).toBe(200);
    const bare = await exports.default.fetch("http://edge.test/demo", { redirect: "manual" });
    expect([bare.status, bare.headers.get("location")]).toEqual([307, "/demo/"]);
  });

  it.each([["off"], [undefined]])("answers 404 JSON with DEMO=%s, for the page and its files", async (demo) => {
    for (const path of ["/demo/", "/demo/index.html", "/demo/sdk.js", "/demo"]) {
      const response = await app.request(path, {}, { ...env, DEMO: demo });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });
});
