// `npm test` runs this first. The node tests start a real coturn (Debian's `coturn`), validate
// the compose file with Debian's `docker-compose` (no Docker engine needed) and run Terraform
// offline. As root on Debian/Ubuntu the two packages are installed when missing; otherwise this
// says what to install and stops, rather than letting the suite fail in a confusing way.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const onPath = (binary) => (process.env.PATH ?? "").split(":").some((dir) => existsSync(`${dir}/${binary}`));
const packages = [
  { name: "coturn", binaries: ["turnserver", "turnutils_uclient", "turnutils_peer"] },
  { name: "docker-compose", binaries: ["docker-compose"] },
];
const missing = packages.filter((pkg) => !pkg.binaries.every(onPath)).map((pkg) => pkg.name);

if (!onPath("terraform")) {
  console.error("terraform (>= 1.6) is needed by the turn-infra tests: https://developer.hashicorp.com/terraform/install");
  process.exit(1);
}
if (missing.length === 0) process.exit(0);

const canInstall = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
if (!canInstall) {
  console.error(`the tests need: ${missing.join(", ")} — install with \`sudo apt-get install --no-install-recommends ${missing.join(" ")}\``);
  process.exit(1);
}
console.log(`installing ${missing.join(", ")} (Debian packages) for the tests...`);
const apt = (...args) => execFileSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
try {
  apt("install", "-y", "--no-install-recommends", ...missing);
} catch {
  apt("update");
  apt("install", "-y", "--no-install-recommends", ...missing);
}
