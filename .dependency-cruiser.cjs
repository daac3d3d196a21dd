// The layering of src/ (docs/ARCHITECTURE.md), checked by test/node/architecture.test.ts in
// `npm test`. Imports run one way, from the Worker entry down to the platform:
//
//   platform (config, errors, ids, log, http) ← metrics ← auth, turn, devices ← calls ← push
//     ← HTTP app (api.ts, meta/, ops/) ← entry
//
// metrics records events (Analytics Engine, the rollup counters) and knows no feature: the
// features below the HTTP app record into it. auth, turn and devices are peers and do not import each other. The calls layer owns the
// Notifier port; push implements it; only the entry (src/index.ts) wires the two together.
// The browser SDK may take the signaling and line protocols' and the call report's *types* from
// the server, nothing else.
const layer = (name, from, allowed, comment) => ({
  name: `${name}-imports-only-lower-layers`,
  severity: "error",
  comment,
  from: { path: from },
  to: { path: "^src/", pathNot: [from, ...allowed] },
});

const PLATFORM = "^src/platform/";
const METRICS = "^src/metrics/";
const AUTH = "^src/auth/";
const TURN = "^src/turn/";
const DEVICES = "^src/devices/";
const CALLS = "^src/calls/";
const PUSH = "^src/push/";
const HTTP_APP = "^src/(api\\.ts|meta/|ops/)";
const SDK_PROTOCOLS = "^src/(calls/(protocol|line-protocol)|metrics/events)\\.ts$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    layer("platform", PLATFORM, [], "platform is the bottom layer: config, errors, ids, log and HTTP plumbing know no feature"),
    layer("metrics", METRICS, [PLATFORM], "metrics records events of every feature and knows none of them"),
    layer("auth", AUTH, [PLATFORM, METRICS], "auth knows the platform (and the event recorder) only"),
    layer("turn", TURN, [PLATFORM, METRICS], "turn knows the platform and the event recorder only"),
    layer("devices", DEVICES, [PLATFORM, METRICS], "devices knows the platform and the event recorder only"),
    layer("calls", CALLS, [PLATFORM, METRICS, AUTH, TURN, DEVICES], "calls owns the Notifier port and never imports push"),
    layer("push", PUSH, [PLATFORM, METRICS, AUTH, TURN, DEVICES, CALLS], "push implements the calls layer's Notifier"),
    layer("http-app", HTTP_APP, [PLATFORM, METRICS, AUTH, TURN, DEVICES, CALLS, PUSH, HTTP_APP], "the HTTP app assembles routes; only the entry imports it"),
    {
      name: "sdk-takes-only-protocol-types",
      severity: "error",
      comment: "the browser SDK imports the server's signaling and line protocols and the call report for their types, never code, never any other server module",
      from: { path: "^client/src/" },
      to: { path: "^src/", pathNot: SDK_PROTOCOLS },
    },
    {
      name: "sdk-protocol-imports-are-type-only",
      severity: "error",
      comment: "a value import would bundle zod and the server's code into the SDK",
      from: { path: "^client/src/" },
      to: { path: SDK_PROTOCOLS, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "no-circular",
      severity: "error",
      comment: "modules that import each other cannot be understood, or tested, one at a time",
      from: { path: "^(src|client/src)/" },
      to: { circular: true },
    },
  ],
  options: {
    // typescript@7 has no compiler API for dependency-cruiser yet; swc parses TypeScript and
    // still tells type-only imports apart.
    parser: "swc",
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|test|bench|scripts)/" },
  },
};
