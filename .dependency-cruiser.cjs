// The layering of src/ (docs/ARCHITECTURE.md), checked by test/node/architecture.test.ts in
// `npm test`. Imports run one way, from the Worker entry down to the platform:
//
//   platform (config, errors, ids, log, http) ← metrics ← auth, turn, devices ← calls ← push
//     ← HTTP app (api.ts, meta/, ops/) ← entry
//
// metrics records events (Analytics Engine, the rollup counters) and knows no feature: the
// features below the HTTP app record into it. auth, turn and devices are peers and do not import each other. The calls layer owns the
// Notifier port; push implements it; only the entry (src/index.ts) wires the two together.
// The browser SDK imports nothing of the server: it is published on its own.
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
      name: "sdk-imports-nothing-of-the-server",
      severity: "error",
      comment: "the browser SDK is published on its own: its wire types are its own (client/src/protocol.ts, held equal to the server's schemas by test/client/protocol.test.ts), so it needs neither zod nor server code",
      from: { path: "^client/src/" },
      to: { path: "^src/" },
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
