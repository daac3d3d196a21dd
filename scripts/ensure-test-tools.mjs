// `npm test` runs this first. Some node tests start a real coturn (Debian's `coturn`), validate
// the compose file with Debian's `docker-compose` (no Docker engine needed) and run Terraform
// offline. Missing Debian packages are installed as root; otherwise (a developer's laptop) the
// tests that need them are left out with a warning naming what to install — except in CI, where
// a missing program fails the run.
import { installDebianPackages } from "./apt-install.mjs";
import { missing, PACKAGE_OF, TOOL_TESTS } from "./test-tools.mjs";

const needed = [...new Set(Object.values(TOOL_TESTS).flat())];
const packages = [...new Set(missing(needed).flatMap((binary) => (PACKAGE_OF[binary] ? [PACKAGE_OF[binary]] : [])))];
const canInstall = process.getuid?.() === 0 && missing(["apt-get"]).length === 0;
if (packages.length > 0 && (canInstall || process.env.CI)) installDebianPackages(packages, "the tests");

const still = missing(needed);
if (still.length > 0) {
  const hints = [
    ...(still.some((binary) => PACKAGE_OF[binary]) ? [`sudo apt-get install --no-install-recommends ${[...new Set(still.flatMap((b) => (PACKAGE_OF[b] ? [PACKAGE_OF[b]] : [])))].join(" ")}`] : []),
    ...(still.includes("terraform") ? ["terraform >= 1.6: https://developer.hashicorp.com/terraform/install"] : []),
  ];
  if (process.env.CI) {
    console.error(`the tests need ${still.join(", ")}: ${hints.join("; ")}`);
    process.exit(1);
  }
  const skipped = Object.entries(TOOL_TESTS).filter(([, binaries]) => missing(binaries).length > 0).map(([file]) => file);
  console.warn(`\n⚠ ${still.join(", ")} not installed: leaving out ${skipped.join(", ")}.\n  To run them: ${hints.join("; ")}\n`);
}
