// `npm test` runs this first. The node tests start a real coturn (Debian's `coturn`), validate
// the compose file with Debian's `docker-compose` (no Docker engine needed) and run Terraform
// offline. Missing packages are installed (as root on Debian/Ubuntu) or named.
import { existsSync } from "node:fs";
import { installDebianPackages } from "./apt-install.mjs";

const onPath = (binary) => (process.env.PATH ?? "").split(":").some((dir) => existsSync(`${dir}/${binary}`));
if (!onPath("terraform")) {
  console.error("terraform (>= 1.6) is needed by the turn-infra tests: https://developer.hashicorp.com/terraform/install");
  process.exit(1);
}
const packages = [
  { name: "coturn", binaries: ["turnserver", "turnutils_uclient", "turnutils_peer"] },
  { name: "docker-compose", binaries: ["docker-compose"] },
];
installDebianPackages(
  packages.filter((pkg) => !pkg.binaries.every(onPath)).map((pkg) => pkg.name),
  "the tests",
);
