// `npm run test:e2e` runs this first. The browser tests create network namespaces and NAT
// routers (root, iproute2, iptables) and run Debian's chromium and coturn inside them. As root
// on Debian/Ubuntu the packages are installed when missing; otherwise this says what is needed.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

if (process.getuid?.() !== 0) {
  console.error("the browser tests create network namespaces and must run as root (sudo npm run test:e2e)");
  process.exit(1);
}
const onPath = (binary) => ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].some((dir) => existsSync(`${dir}/${binary}`));
const packages = [
  { name: "chromium", binary: "chromium" },
  { name: "coturn", binary: "turnserver" },
  { name: "iptables", binary: "iptables" },
  { name: "iproute2", binary: "ip" },
];
const missing = packages.filter((pkg) => !onPath(pkg.binary)).map((pkg) => pkg.name);
if (missing.length === 0) process.exit(0);
if (!existsSync("/usr/bin/apt-get")) {
  console.error(`the browser tests need: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`installing ${missing.join(", ")} (Debian packages) for the browser tests...`);
const apt = (...args) => execFileSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
try {
  apt("install", "-y", "--no-install-recommends", ...missing);
} catch {
  apt("update");
  apt("install", "-y", "--no-install-recommends", ...missing);
}
