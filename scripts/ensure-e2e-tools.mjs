// `npm run test:e2e` runs this first. The browser tests create network namespaces and NAT
// routers (root, iproute2, iptables) and run Debian's chromium and coturn inside them; openssl
// makes the TURN/TLS test certificate.
import { existsSync } from "node:fs";
import { installDebianPackages } from "./apt-install.mjs";

if (process.getuid?.() !== 0) {
  console.error("the browser tests create network namespaces and must run as root (sudo npm run test:e2e)");
  process.exit(1);
}
const onPath = (binary) => ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].some((dir) => existsSync(`${dir}/${binary}`));
const packages = { chromium: "chromium", coturn: "turnserver", iptables: "iptables", iproute2: "ip", openssl: "openssl" };
installDebianPackages(
  Object.entries(packages)
    .filter(([, binary]) => !onPath(binary))
    .map(([name]) => name),
  "the browser tests",
);
