// Installs Debian packages for the test tooling: as root with apt-get, refreshing the package
// lists once if the first try fails; otherwise prints what to install and exits non-zero.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export function installDebianPackages(packages, purpose) {
  if (packages.length === 0) return;
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    console.error(`${purpose} need: ${packages.join(", ")} — install with \`sudo apt-get install --no-install-recommends ${packages.join(" ")}\``);
    process.exit(1);
  }
  console.log(`installing ${packages.join(", ")} (Debian packages) for ${purpose}...`);
  const apt = (...args) => execFileSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  try {
    apt("install", "-y", "--no-install-recommends", ...packages);
  } catch {
    apt("update");
    apt("install", "-y", "--no-install-recommends", ...packages);
  }
}
