import { ApiError } from "../platform/errors";
import { newRouter } from "../platform/http";
import { demoConfig } from "./config";

/**
 * The pages a person opens: `/` (where everything is), `/docs` (Swagger UI over
 * /openapi.json) and the gate of `/demo/`. The docs UI's files are the pinned `swagger-ui-dist`
 * package, copied into the Worker's static assets by client/build.mjs (`/docs-ui/`), so the page
 * loads nothing from any other host and keeps working when a CDN does not.
 */

// Swagger UI sets inline styles and uses data: images; everything else comes from this origin.
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self' 'sha256-{hash}'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

// Without the UI's files (a plain `wrangler deploy` that skipped the SDK build) the page still
// reads: it says what is missing and links the document. validatorUrl: null keeps Swagger UI from
// sending the document to its public validator.
const DOCS_SCRIPT = `
const status = document.getElementById("docs-status");
if (typeof SwaggerUIBundle === "function") {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null, deepLinking: true });
} else {
  status.textContent = "The docs UI files (/docs-ui/) are not deployed with this Worker: build them with npm run build:client (npm run deploy does). The OpenAPI document is below.";
}
`;

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SecureConnect Edge API</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/docs-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui">
<p id="docs-status">Loading the API reference…</p>
<p>The OpenAPI 3.1 document: <a href="/openapi.json">/openapi.json</a>. Service: <a href="/">home</a>.</p>
<noscript><p>The interactive reference needs JavaScript; the document above does not.</p></noscript>
</div>
<script src="/docs-ui/swagger-ui-bundle.js"></script>
<script>${DOCS_SCRIPT}</script>
</body>
</html>
`;

let docsCsp: Promise<string> | undefined;
/** The CSP that allows exactly the page's one inline script, by its hash (computed once). */
function docsContentSecurityPolicy(): Promise<string> {
  docsCsp ??= crypto.subtle.digest("SHA-256", new TextEncoder().encode(DOCS_SCRIPT)).then((digest) => {
    const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
    return DOCS_CSP.replace("{hash}", hash);
  });
  return docsCsp;
}

const link = (href: string, text: string, what: string) => `<li><a href="${href}">${text}</a> — ${what}</li>`;

function landingPage(demo: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SecureConnect Edge</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; } code { font-size: .95em; }</style>
</head>
<body>
<h1>SecureConnect Edge</h1>
<p>A WebRTC calling backend on Cloudflare Workers: TURN credentials and ICE servers, signaling rooms, push to FCM and APNs.</p>
<ul>
${[
  demo ? link("/demo/", "Demo", "place a video call between two tabs") : "",
  link("/docs", "API docs", "every route, browsable"),
  link("/openapi.json", "/openapi.json", "the OpenAPI 3.1 document"),
  link("/healthz", "/healthz", "liveness"),
  link("/readyz", "/readyz", "readiness: the state of each configuration section"),
]
  .filter(Boolean)
  .join("\n")}
</ul>
</body>
</html>
`;
}

/**
 * The demo's own scripts, styles and service worker only (demo.js, demo.css, sdk.js, sw.js: no
 * inline code), and requests to this origin only: its API and sockets ('self' covers ws: and wss:
 * of the same host).
 */
const DEMO_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; worker-src 'self'; media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const pageRoutes = newRouter()
  .get("/", (c) => {
    c.header("content-security-policy", PAGE_CSP);
    return c.html(landingPage(demoConfig(c.env).enabled));
  })
  .get("/docs", async (c) => {
    c.header("content-security-policy", await docsContentSecurityPolicy());
    return c.html(DOCS_PAGE);
  })
  // wrangler.toml runs the Worker first for these paths (assets.run_worker_first), so the demo
  // is served only when it is switched on.
  .get("/demo/*", async (c) => {
    if (!demoConfig(c.env).enabled) throw new ApiError("not_found", `no route for GET ${c.req.path} (the demo is off: DEMO=on serves it)`);
    const asset = await c.env.ASSETS.fetch(c.req.raw);
    const response = new Response(asset.body, asset);
    response.headers.set("content-security-policy", DEMO_CSP);
    return response;
  });
