import { execFileSync } from "node:child_process";

/**
 * Network namespaces for the browser tests, created and removed by the test itself. Every
 * address (10.200.x.x LANs, 100.64.x.x "internet") exists only on veth pairs between these
 * namespaces; veths are created directly inside them, so the host's namespace is never touched
 * and nothing can leave through a real interface. Never send to these addresses from the host:
 * there they are not local and would be routed out — reach them with `inNamespace` only.
 */
const PREFIX = `sce${process.pid % 100000}`;
const created = new Set<string>();

export const nsName = (role: string) => `${PREFIX}-${role}`;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

/** Runs a command inside namespace `ns` (bounded). */
export function inNamespace(ns: string, command: string, ...args: string[]): string {
  return execFileSync("ip", ["netns", "exec", ns, command, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15_000 });
}

export function createNamespace(role: string): string {
  const ns = nsName(role);
  deleteNamespace(ns);
  ip("netns", "add", ns);
  created.add(ns);
  inNamespace(ns, "ip", "link", "set", "lo", "up");
  return ns;
}

export function deleteNamespace(ns: string): void {
  try {
    ip("netns", "delete", ns);
  } catch {
    // already gone
  }
  created.delete(ns);
}

/** Removes every namespace this process created (also on exit, even after a failure). */
export function deleteAll(): void {
  for (const ns of [...created]) deleteNamespace(ns);
}
process.once("exit", deleteAll);

/**
 * Deletes a veth (both ends at once) if it exists. A namespace's devices die asynchronously
 * after `ip netns delete`, so a veth whose other end lives in a namespace that stays (the
 * internet's `to-ra`) must be deleted explicitly, or the next scenario finds it still there.
 */
export function unlink(ns: string, dev: string): void {
  try {
    inNamespace(ns, "ip", "link", "delete", dev);
  } catch {
    // not there
  }
}

/** A veth pair between two namespaces, with an address on each end that has one. */
export function link(a: { ns: string; dev: string; address?: string }, b: { ns: string; dev: string; address?: string }): void {
  unlink(a.ns, a.dev);
  ip("link", "add", a.dev, "netns", a.ns, "type", "veth", "peer", "name", b.dev, "netns", b.ns);
  for (const end of [a, b]) {
    if (end.address) inNamespace(end.ns, "ip", "addr", "add", end.address, "dev", end.dev);
    inNamespace(end.ns, "ip", "link", "set", end.dev, "up");
  }
}

export function sysctl(ns: string, key: string, value: string): void {
  inNamespace(ns, "sysctl", "-q", "-w", `${key}=${value}`);
}

/** A TCP destination a strict firewall lets through. */
export interface TcpDestination {
  ip: string;
  port: number;
}

/**
 * A NAT router between its LAN and the "internet": masquerades LAN traffic on the WAN and
 * forwards only LAN→WAN and replies. `blockUdp` drops UDP from the LAN (a firewall that lets
 * only TCP out); `allowOnly` lets the LAN reach nothing but those TCP destinations (a network
 * that opens only HTTPS).
 */
export function natRouter(router: string, wan: string, lan: string, options: { blockUdp?: boolean; allowOnly?: TcpDestination[] } = {}): void {
  sysctl(router, "net.ipv4.ip_forward", "1");
  const iptables = (...args: string[]) => inNamespace(router, "iptables", ...args);
  iptables("-P", "FORWARD", "DROP");
  if (options.blockUdp) iptables("-A", "FORWARD", "-i", lan, "-p", "udp", "-j", "DROP");
  if (options.allowOnly) {
    for (const { ip, port } of options.allowOnly) iptables("-A", "FORWARD", "-i", lan, "-o", wan, "-p", "tcp", "-d", ip, "--dport", String(port), "-j", "ACCEPT");
    iptables("-A", "FORWARD", "-i", lan, "-j", "DROP");
  }
  iptables("-A", "FORWARD", "-i", lan, "-o", wan, "-j", "ACCEPT");
  iptables("-A", "FORWARD", "-i", wan, "-o", lan, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT");
  iptables("-t", "nat", "-A", "POSTROUTING", "-o", wan, "-j", "MASQUERADE");
}

/**
 * The whole world of one scenario:
 *
 *   client-a 10.200.1.2 ─ router-a 10.200.1.1 | 100.64.1.2 ─┐
 *                                                           ├─ internet 100.64.1.1, 100.64.2.1,
 *   client-b 10.200.2.2 ─ router-b 10.200.2.1 | 100.64.2.2 ─┘   services on 100.64.0.1 (lo)
 *
 * `sameLan` puts client-b on router-a's LAN instead (10.200.1.3, a bridge in router-a).
 * `blockUdpA` and `allowOnlyA` make router A's firewall stricter (see {@link natRouter}).
 * `natsConnected` lets the internet namespace forward between the two routers' WANs; without it
 * its FORWARD chain drops them. Each scenario's WANs get their own subnets (`scenario`), so no
 * connection-tracking state of an earlier scenario can match a later one.
 */
export interface Topology {
  clientA: string;
  clientB: string;
  routerA: string;
  teardown: () => void;
}

export function buildTopology(
  internet: string,
  options: { scenario: number; sameLan?: boolean; natsConnected?: boolean; blockUdpA?: boolean; allowOnlyA?: TcpDestination[] },
): Topology {
  const wanA = `100.64.${options.scenario * 2 + 1}`;
  const wanB = `100.64.${options.scenario * 2 + 2}`;
  const routerA = createNamespace("router-a");
  const clientA = createNamespace("client-a");
  const clientB = createNamespace("client-b");
  const routers = [routerA];
  link({ ns: internet, dev: "to-ra", address: `${wanA}.1/24` }, { ns: routerA, dev: "wan", address: `${wanA}.2/24` });
  inNamespace(routerA, "ip", "route", "add", "default", "via", `${wanA}.1`);

  if (options.sameLan) {
    inNamespace(routerA, "ip", "link", "add", "lan", "type", "bridge");
    inNamespace(routerA, "ip", "addr", "add", "10.200.1.1/24", "dev", "lan");
    inNamespace(routerA, "ip", "link", "set", "lan", "up");
    // With br_netfilter loaded, bridged frames would meet the FORWARD DROP policy.
    try {
      sysctl(routerA, "net.bridge.bridge-nf-call-iptables", "0");
    } catch {
      // br_netfilter not loaded: nothing to turn off
    }
    link({ ns: clientA, dev: "eth0", address: "10.200.1.2/24" }, { ns: routerA, dev: "port-a" });
    link({ ns: clientB, dev: "eth0", address: "10.200.1.3/24" }, { ns: routerA, dev: "port-b" });
    for (const port of ["port-a", "port-b"]) inNamespace(routerA, "ip", "link", "set", port, "master", "lan");
    for (const client of [clientA, clientB]) inNamespace(client, "ip", "route", "add", "default", "via", "10.200.1.1");
    natRouter(routerA, "wan", "lan");
  } else {
    const routerB = createNamespace("router-b");
    routers.push(routerB);
    link({ ns: internet, dev: "to-rb", address: `${wanB}.1/24` }, { ns: routerB, dev: "wan", address: `${wanB}.2/24` });
    inNamespace(routerB, "ip", "route", "add", "default", "via", `${wanB}.1`);
    link({ ns: clientA, dev: "eth0", address: "10.200.1.2/24" }, { ns: routerA, dev: "lan", address: "10.200.1.1/24" });
    link({ ns: clientB, dev: "eth0", address: "10.200.2.2/24" }, { ns: routerB, dev: "lan", address: "10.200.2.1/24" });
    inNamespace(clientA, "ip", "route", "add", "default", "via", "10.200.1.1");
    inNamespace(clientB, "ip", "route", "add", "default", "via", "10.200.2.1");
    natRouter(routerA, "wan", "lan", { blockUdp: options.blockUdpA, ...(options.allowOnlyA ? { allowOnly: options.allowOnlyA } : {}) });
    natRouter(routerB, "wan", "lan");
  }
  // The internet routes between the two WANs only when the scenario says so.
  sysctl(internet, "net.ipv4.ip_forward", "1");
  const iptables = (...args: string[]) => inNamespace(internet, "iptables", ...args);
  iptables("-P", "FORWARD", "DROP");
  iptables("-F", "FORWARD");
  if (options.natsConnected) {
    iptables("-A", "FORWARD", "-i", "to-ra", "-o", "to-rb", "-j", "ACCEPT");
    iptables("-A", "FORWARD", "-i", "to-rb", "-o", "to-ra", "-j", "ACCEPT");
  }
  return {
    clientA,
    clientB,
    routerA,
    teardown: () => {
      for (const dev of ["to-ra", "to-rb"]) unlink(internet, dev);
      for (const ns of [clientA, clientB, ...routers]) deleteNamespace(ns);
    },
  };
}
