// `npm test` runs this first: the TURN tests start a real coturn (`turnserver` from Debian's
// `coturn` package). As root on Debian/Ubuntu it is installed when missing; otherwise this says
// what to install and stops, rather than letting the suite fail in a confusing way.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const binaries = ["/usr/bin/turnserver", "/usr/bin/turnutils_uclient", "/usr/bin/turnutils_peer"];
if (binaries.every((binary) => existsSync(binary))) process.exit(0);

const canInstall = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
if (!canInstall) {
  console.error("coturn is needed by the tests: install it with `sudo apt-get install coturn` (Debian/Ubuntu)");
  process.exit(1);
}
console.log("installing coturn (Debian package) for the TURN tests...");
const apt = (...args) =>
  execFileSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
try {
  apt("install", "-y", "--no-install-recommends", "coturn");
} catch {
  apt("update");
  apt("install", "-y", "--no-install-recommends", "coturn");
}
