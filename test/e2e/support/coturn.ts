import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCoturn, type Running } from "../../node/support/processes";

/**
 * Debian's coturn inside the test's "internet" namespace on `ip`, as the browser suites run it:
 * `use-auth-secret` with one secret, TURN on 3478 (UDP and TCP), TLS on 443 when given a
 * certificate, and a safety net that relays only to the test world's public addresses.
 */
export function startTestCoturn(
  internet: string,
  options: { ip: string; secret: string; relayPorts: [number, number]; tls?: { cert: string; key: string } },
): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), "sce-e2e-coturn-"));
  const config = [
    "use-auth-secret",
    `static-auth-secret=${options.secret}`,
    "realm=turn.test",
    `listening-ip=${options.ip}`,
    `relay-ip=${options.ip}`,
    "listening-port=3478",
    ...(options.tls ? ["tls-listening-port=443", `cert=${options.tls.cert}`, `pkey=${options.tls.key}`, "no-tlsv1", "no-tlsv1_1"] : ["no-tls"]),
    `min-port=${options.relayPorts[0]}`,
    `max-port=${options.relayPorts[1]}`,
    "fingerprint",
    "no-cli",
    "no-dtls",
    "no-multicast-peers",
    "denied-peer-ip=0.0.0.0-255.255.255.255",
    "allowed-peer-ip=100.64.0.0-100.64.255.255",
    `userdb=${join(dir, "turndb")}`,
    `pidfile=${join(dir, "turnserver.pid")}`,
    "log-file=stdout",
    "simple-log",
    "",
  ];
  return runCoturn(config.join("\n"), dir, internet);
}
