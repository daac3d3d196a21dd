// Asks a running Worker to prove its push providers work (POST /v1/admin/push/check), notifying
// nobody, and prints one line per provider. Node 22, no dependencies.
//   npm run check:push -- --url https://edge.example.com --token <JWT with scope admin>
//   CHECK_PUSH_TOKEN=<JWT> npm run check:push -- --url http://127.0.0.1:8787 --apns-environment sandbox
// Exit status: 0 every configured provider passed (also when none is configured), 1 a configured
// provider failed, 2 usage, 3 the request itself failed (network, timeout, non-200 answer).
import { parseArgs } from "node:util";

const USAGE =
  "usage: npm run check:push -- --url <base URL> [--token <JWT with scope admin> | env CHECK_PUSH_TOKEN] " +
  "[--apns-environment production|sandbox] [--timeout <seconds, default 30>]";

let values;
try {
  ({ values } = parseArgs({
    options: {
      url: { type: "string" },
      token: { type: "string" },
      "apns-environment": { type: "string" },
      timeout: { type: "string", default: "30" },
    },
  }));
} catch (error) {
  usage(error.message);
}
const token = values.token ?? process.env.CHECK_PUSH_TOKEN;
if (!values.url || !/^https?:\/\/[^/]/.test(values.url)) usage("--url must be the Worker's http(s) base URL");
if (!token) usage("a token is needed: --token, or CHECK_PUSH_TOKEN in the environment");
if (values["apns-environment"] && !["production", "sandbox"].includes(values["apns-environment"])) usage("--apns-environment is production or sandbox");
if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 1) usage("--timeout is a whole number of seconds");

const endpoint = new URL(`${values.url.replace(/\/+$/, "")}/v1/admin/push/check`);
if (values["apns-environment"]) endpoint.searchParams.set("apnsEnvironment", values["apns-environment"]);

let response;
let body;
try {
  response = await fetch(endpoint, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    signal: AbortSignal.timeout(Number(values.timeout) * 1000),
  });
  body = await response.json();
} catch (error) {
  const reason = error?.name === "TimeoutError" ? `no answer within ${values.timeout} s` : (error?.cause?.message ?? error?.message ?? String(error));
  fail(response ? `${endpoint.origin} answered ${response.status} without a JSON body` : `cannot reach ${endpoint.origin}: ${reason}`);
}
if (response.status !== 200) {
  const error = body?.error ?? {};
  fail(`${endpoint.origin} answered ${response.status}${error.code ? ` ${error.code}` : ""}${error.message ? `: ${error.message}` : ""}`);
}
if (Object.keys(body?.providers ?? {}).length === 0 || typeof body.ok !== "boolean") fail("the answer is not a push check result (is --url the SecureConnect Edge Worker?)");
// The default app's providers, then each other app's as <app>/<provider>.
const providers = [
  ...Object.entries(body.providers),
  ...Object.entries(body.apps ?? {}).flatMap(([app, checks]) => Object.entries(checks).map(([name, check]) => [`${app}/${name}`, check])),
];

const width = Math.max(5, ...providers.map(([name]) => name.length));
for (const [name, check] of providers) {
  const configured = check.configured ? "configured" : "not configured";
  const result = !check.configured ? "-" : check.ok ? "ok" : "FAILED";
  const latency = typeof check.latencyMs === "number" ? `${check.latencyMs} ms` : "-";
  console.log(`${name.padEnd(width)} ${configured.padEnd(14)} ${result.padEnd(6)} ${latency.padStart(8)}  ${check.detail ?? ""}`);
}
if (body.appsProblem) console.log(`PUSH_APPS: ${body.appsProblem}`);
const failed = providers.filter(([, check]) => check.configured && !check.ok).map(([name]) => name);
if (failed.length > 0 || !body.ok) {
  console.error(`push check FAILED: ${failed.join(", ") || "see above"}`);
  process.exit(1);
}
console.log(providers.some(([, check]) => check.configured) ? "push check ok" : "push check ok (no provider configured: pushes go to the log)");

function usage(problem) {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

function fail(problem) {
  console.error(`push check could not run: ${problem}`);
  process.exit(3);
}
