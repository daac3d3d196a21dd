// The outside programs some node tests run, shared by `npm test`'s pre-step (which installs or
// names them) and vitest.config.ts (which leaves out, on a developer's machine, the test files
// whose programs are missing). In CI (CI set, as .ci/run does) nothing is left out: a missing
// program fails the run.
import { existsSync } from "node:fs";

export const TOOL_TESTS = {
  "test/node/coturn.test.ts": ["turnserver", "turnutils_uclient", "turnutils_peer"],
  "test/node/turn-health.test.ts": ["turnserver"],
  "test/node/turn-infra.test.ts": ["terraform", "turnserver", "docker-compose"],
  "test/node/apns-relay.test.ts": ["haproxy", "openssl", "docker-compose"],
};

/** The Debian package that provides each program (terraform has none: HashiCorp's). */
export const PACKAGE_OF = {
  turnserver: "coturn",
  turnutils_uclient: "coturn",
  turnutils_peer: "coturn",
  "docker-compose": "docker-compose",
  haproxy: "haproxy",
  openssl: "openssl",
};

const onPath = (binary) => (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(`${dir}/${binary}`));

/** Programs of `binaries` that are not on PATH. */
export const missing = (binaries) => binaries.filter((binary) => !onPath(binary));

/** Test files to leave out because a program they run is missing (never in CI). */
export function testsWithoutTools() {
  if (process.env.CI) return [];
  return Object.entries(TOOL_TESTS)
    .filter(([, binaries]) => missing(binaries).length > 0)
    .map(([file]) => file);
}
