// `npm test` runs this first. Some node tests start a real coturn (Debian's `coturn`) and a real
// HAProxy (Debian's `haproxy`, the APNs relay), validate the compose file with Debian's
// `docker-compose` (no Docker engine needed) and run Terraform offline. Missing Debian packages
// are installed as root; otherwise (a developer's laptop) the tests that need them are left out
// with a warning naming what to install — except in CI, where a missing program fails the run.
import { installDebianPackages } from "./apt-install.mjs";
import { missing, PACKAGE_OF, testsWithoutTools, TOOL_TESTS } from "./test-tools.mjs";

const packagesFor = (binaries) => [...new Set(binaries.flatMap((binary) => (PACKAGE_OF[binary] ? [PACKAGE_OF[binary]] : [])))];
const needed = [...new Set(Object.values(TOOL_TESTS).flat())];
const packages = packagesFor(missing(needed));
const canInstall = process.getuid?.() === 0 && missing(["apt-get"]).length === 0;
if (packages.length > 0 && (canInstall || process.env.CI)) installDebianPackages(packages, "the tests");

const still = missing(needed);
if (still.length > 0) {
  const stillPackages = packagesFor(still);
  const hints = [
    ...(stillPackages.length > 0 ? [`sudo apt-get install --no-install-recommends ${stillPackages.join(" ")}`] : []),
    ...(still.includes("terraform") ? ["terraform >= 1.6: https://developer.hashicorp.com/terraform/install"] : []),
  ];
  if (process.env.CI) {
    console.error(`the tests need ${still.join(", ")}: ${hints.join("; ")}`);
    process.exit(1);
  }
  console.warn(`\n⚠ ${still.join(", ")} not installed: leaving out ${testsWithoutTools().join(", ")}.\n  To run them: ${hints.join("; ")}\n`);
}
