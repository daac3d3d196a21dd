/**
 * turn-infra's rendered configuration under a real coturn: the Terraform core module renders
 * turnserver.conf with loopback values (tests/loopback), cloud-init's boot step adds the host's
 * interface addresses, Debian's `turnserver` runs it, and
 * - a credential issued by the Worker (configured with the module's TURN_POOLS entry) is accepted;
 * - peers in denied ranges (loopback, cloud metadata, RFC 1918), the host's own public address
 *   and the other pools' addresses are refused, a public one is not;
 * - a TCP relay allocation (RFC 6062) is refused, while TCP to the server still gets a UDP relay.
 * Also: the compose renderer produces the same hardening as Terraform, refuses malformed
 * addresses, and its output runs. Not covered: TLS, the Prometheus exporter, coturn ≥ 4.17
 * specifics (Debian ships 4.6.1), and relaying to a real public host (permissions only).
 */
import { execFile } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, runCoturn, startWrangler, type Running } from "./support/processes";
import { hs256Token } from "./support/tokens";
import { allocate } from "./support/turn-client";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "../..");
const SECRETS = ["9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"];
const JWT_SECRET = "turn-infra-test-hs256-secret-0123456789abcdef";

// Stand-ins for this host's public address and the other TURN pools' (a single address, a range,
// an IPv6 address): public addresses outside every range of denied-peer-ips.txt, so only the new
// lines can refuse them.
const HOST_PUBLIC_IP = "45.67.89.10";
const OTHER_POOLS = ["45.67.89.20", "45.67.90.0-45.67.90.255", "2a01:4f8:c0c::20"];

// Permissions only (nothing is ever sent to these peers): loopback (coturn refuses it by default
// too), cloud metadata and RFC 1918 (refused only because of denied-peer-ip), this host's public
// address, two of the other pools', and one public address as the control that permissions work.
const PEERS = ["127.0.0.1", "169.254.169.254", "10.1.2.3", HOST_PUBLIC_IP, "45.67.89.20", "45.67.90.7", "8.8.8.8"];
const DENIED_EXCEPT_PUBLIC = {
  "127.0.0.1": { ok: false, code: 403 },
  "169.254.169.254": { ok: false, code: 403 },
  "10.1.2.3": { ok: false, code: 403 },
  [HOST_PUBLIC_IP]: { ok: false, code: 403 },
  "45.67.89.20": { ok: false, code: 403 },
  "45.67.90.7": { ok: false, code: 403 },
  "8.8.8.8": { ok: true },
};
const TCP_RELAY_REFUSED = { ok: false, code: 442, reason: expect.stringMatching(/^TCP Transport is not allowed by the TURN Server configuration/) };

/** One spelling per address (IPv6 compressed), to compare addresses written differently. */
const canonical = (ip: string) => (ip.includes(":") ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip);
/** The denied-peer-ip values of a configuration, addresses and both ends of ranges canonical. */
const deniedPeers = (conf: string) =>
  conf.split("\n").flatMap((line) => (line.startsWith("denied-peer-ip=") ? [line.slice("denied-peer-ip=".length).split("-").map(canonical).join("-")] : []));

/** This machine's own addresses that are not loopback or link-local (denied as ranges anyway). */
const ownAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .flatMap((entry) => (entry && !entry.internal && !/^(fe[89ab][0-9a-f]:|169\.254\.)/i.test(entry.address) ? [canonical(entry.address)] : []));

let work: string;
let port: number;
let rendered: { conf: string; pool: { region: string; urls: string[] } };

async function terraform(args: string[]) {
  return run("terraform", args, {
    cwd: join(REPO, "turn-infra/terraform/tests/loopback"),
    env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_DATA_DIR: join(work, ".terraform"), TF_IN_AUTOMATION: "1" },
    timeout: 60_000,
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "sce-turn-infra-"));
  port = await freePort();
  const state = join(work, "terraform.tfstate");
  await terraform(["init", "-input=false", "-no-color"]);
  await terraform([
    "apply", "-auto-approve", "-input=false", "-no-color", `-state=${state}`,
    `-var=secrets=${JSON.stringify(SECRETS)}`, `-var=port=${port}`, `-var=relay_min=${41000 + Math.floor(Math.random() * 100) * 100}`,
    `-var=state_dir=${join(work, "coturn")}`, `-var=public_ip=${HOST_PUBLIC_IP}`, `-var=peer_deny_ips=${JSON.stringify(OTHER_POOLS)}`,
  ]);
  const conf = (await terraform(["output", "-raw", `-state=${state}`, "turnserver_conf"])).stdout;
  const pool = JSON.parse((await terraform(["output", "-json", `-state=${state}`, "pool"])).stdout) as typeof rendered.pool;
  rendered = { conf, pool };
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** cloud-init's boot step (files/deny-host-ips.sh) on a copy of `conf`, as on a new host. */
async function denyHostIps(conf: string) {
  const file = join(work, `booted-${randomUUID()}.conf`);
  writeFileSync(file, conf);
  await run("sh", [join(REPO, "turn-infra/terraform/modules/coturn-core/files/deny-host-ips.sh"), file], { timeout: 10_000 });
  return readFileSync(file, "utf8");
}

describe("the Terraform-rendered configuration under coturn", () => {
  let coturn: Running;
  let worker: Running & { url: string };
  let booted: string;

  beforeAll(async () => {
    booted = await denyHostIps(rendered.conf);
    [coturn, worker] = await Promise.all([
      runCoturn(booted, mkdtempSync(join(tmpdir(), "sce-coturn-"))),
      startWrangler({ AUTH_JWT_SECRET: JWT_SECRET, TURN_SECRETS: SECRETS.join(","), TURN_POOLS: JSON.stringify([rendered.pool]) }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([coturn?.stop(), worker?.stop()]);
  });

  it("renders a pool the Worker serves", () => {
    expect(rendered.pool).toMatchObject({ region: "local", urls: [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`] });
  });

  it("accepts the Worker's credential, and refuses peers in denied ranges", async () => {
    const token = await hs256Token(JWT_SECRET, "alice");
    const response = await fetch(`${worker.url}/v1/turn/credentials`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    const { username, password, uris } = (await response.json()) as { username: string; password: string; uris: string[] };
    expect(uris[0]).toBe(`turn:127.0.0.1:${port}?transport=udp`);

    const outcome = await allocate({ host: "127.0.0.1", port }, { username, password }, { permit: PEERS });
    expect(outcome).toMatchObject({ ok: true, permissions: DENIED_EXCEPT_PUBLIC });
    expect(coturn.output()).not.toMatch(/allow-loopback-peers/);
  });

  it("refuses a tampered credential", async () => {
    const username = `${Math.floor(Date.now() / 1000) + 600}:mallory`;
    expect(await allocate({ host: "127.0.0.1", port }, { username, password: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" })).toMatchObject({ ok: false, code: 401 });
  });

  it("refuses a TCP relay allocation, and still relays UDP for a client on TCP", async () => {
    const username = `${Math.floor(Date.now() / 1000) + 600}:erin`;
    const password = createHmac("sha1", SECRETS[0]!).update(username).digest("base64");
    expect(await allocate({ host: "127.0.0.1", port }, { username, password }, { transport: "tcp", relay: "tcp" })).toEqual(TCP_RELAY_REFUSED);
    expect(await allocate({ host: "127.0.0.1", port }, { username, password }, { transport: "tcp", permit: PEERS })).toMatchObject({
      ok: true,
      permissions: DENIED_EXCEPT_PUBLIC,
    });
  });

  it("denies the host's interface addresses from the boot step, once, in a form coturn reads", async () => {
    expect(booted.startsWith(rendered.conf)).toBe(true);
    const added = deniedPeers(booted.slice(rendered.conf.length));
    expect(new Set(added)).toEqual(new Set(ownAddresses().filter((ip) => !deniedPeers(rendered.conf).includes(ip))));
    expect(await denyHostIps(booted)).toBe(booted);
    expect(coturn.output()).not.toMatch(/Wrong address format|Error resolving/);
  });
});

describe("Terraform and compose files", () => {
  const tfEnv = () => ({ ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_DATA_DIR: join(work, ".terraform-test"), TF_IN_AUTOMATION: "1" });

  it("terraform test passes for the core module, offline", async () => {
    const { stdout } = await run("terraform", ["test", "-no-color"], { cwd: join(REPO, "turn-infra/terraform/modules/coturn-core"), env: tfEnv(), timeout: 120_000 });
    expect(stdout).toMatch(/Success! \d+ passed, 0 failed/);
  }, 150_000);

  it("every Terraform file is formatted", async () => {
    await expect(run("terraform", ["fmt", "-check", "-recursive", "-no-color"], { cwd: join(REPO, "turn-infra/terraform"), env: tfEnv() })).resolves.toBeDefined();
  });

  it("compose.yaml validates with the example values, and refuses to start without TURN_SECRETS", async () => {
    const compose = join(REPO, "turn-infra/compose");
    const base = { PATH: process.env.PATH, HOME: work, TURN_REALM: "turn.example.com" };
    const validate = (env: Record<string, string | undefined>) =>
      run("docker-compose", ["--project-directory", compose, "-f", join(compose, "compose.yaml"), "config", "-q"], { env: env as unknown as NodeJS.ProcessEnv, timeout: 30_000 });
    await expect(validate({ ...base, TURN_SECRETS: SECRETS.join(",") })).resolves.toBeDefined();
    await expect(validate(base)).rejects.toThrow(/TURN_SECRETS/);
  });
});

describe("the compose renderer", () => {
  const options = (conf: string) =>
    conf
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));

  async function renderCompose(env: Record<string, string>) {
    const out = join(work, `compose-${Math.random().toString(36).slice(2)}.conf`);
    // Only PATH and the variables under test: nothing inherited may change what is rendered.
    // (The cast: wrangler's generated types declare the Worker's vars on NodeJS.ProcessEnv.)
    const isolated = { PATH: process.env.PATH, ...env } as unknown as NodeJS.ProcessEnv;
    await run("sh", [join(REPO, "turn-infra/compose/render-config.sh"), out], { env: isolated, timeout: 10_000 });
    return readFileSync(out, "utf8");
  }

  // The compose equivalent of the loopback module's addresses and peer_deny_ips.
  const sameAddresses = {
    TURN_EXTERNAL_IP: HOST_PUBLIC_IP,
    TURN_LISTENING_IP: "127.0.0.1",
    TURN_RELAY_IP: "127.0.0.1",
    TURN_DENY_PEER_IPS: OTHER_POOLS.join(","),
  };

  it("writes the same hardening, secrets and denied peers as Terraform", async () => {
    const compose = options(
      await renderCompose({ TURN_SECRETS: SECRETS.join(","), TURN_REALM: "turn.test", TURN_TLS: "off", ...sameAddresses, TURN_HOST_IPS: HOST_PUBLIC_IP }),
    );
    const terraformLines = options(rendered.conf);
    for (const prefix of ["denied-peer-ip=", "static-auth-secret=", "user-quota=", "total-quota=", "max-bps=", "stale-nonce="]) {
      expect(compose.filter((line) => line.startsWith(prefix)), prefix).toEqual(terraformLines.filter((line) => line.startsWith(prefix)));
    }
    for (const flag of ["use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers", "no-dtls", "no-tcp-relay", "no-software-attribute", "log-file=stdout"]) {
      expect(compose).toContain(flag);
      expect(terraformLines).toContain(flag);
    }
    expect(deniedPeers(rendered.conf)).toEqual(expect.arrayContaining([HOST_PUBLIC_IP, "127.0.0.1", ...OTHER_POOLS]));
  });

  it("denies every address of the host's interfaces by default (TURN_HOST_IPS=auto)", async () => {
    const denied = deniedPeers(await renderCompose({ TURN_SECRETS: SECRETS[0]!, TURN_REALM: "turn.test" }));
    expect(denied).toEqual(expect.arrayContaining(ownAddresses()));
    const listed = deniedPeers(await renderCompose({ TURN_SECRETS: SECRETS[0]!, TURN_REALM: "turn.test", TURN_HOST_IPS: "45.67.89.11,2a01:4f8:c0c::11" }));
    expect(listed).toEqual(expect.arrayContaining(["45.67.89.11", "2a01:4f8:c0c::11"]));
    expect(listed.filter((ip) => !denied.includes(ip))).toEqual(["45.67.89.11", "2a01:4f8:c0c::11"]);
    for (const ip of ownAddresses()) expect(listed, "a list replaces discovery").not.toContain(ip);
  });

  it("refuses secrets coturn would mangle, and a missing secret", async () => {
    await expect(renderCompose({ TURN_SECRETS: '"quoted"', TURN_REALM: "turn.test" })).rejects.toThrow(/hex/);
    await expect(renderCompose({ TURN_REALM: "turn.test" })).rejects.toThrow(/TURN_SECRETS/);
  });

  it("refuses anything but addresses and ranges where they become denied-peer-ip lines", async () => {
    const base = { TURN_SECRETS: SECRETS[0]!, TURN_REALM: "turn.test", TURN_HOST_IPS: HOST_PUBLIC_IP };
    // A CIDR and a name (coturn would ignore or resolve them), a line of configuration smuggled
    // in, the unspecified address (coturn 4.6.1 reads it as "every peer"), mixed families, octal.
    for (const bad of ["45.67.90.0/24", "turn-use1.example.com", "45.67.89.20\nallow-loopback-peers", "::", "45.67.89.20-2a01:4f8::1", "045.67.89.20"]) {
      await expect(renderCompose({ ...base, TURN_DENY_PEER_IPS: `45.67.89.21,${bad}` }), bad).rejects.toThrow(/TURN_DENY_PEER_IPS/);
    }
    await expect(renderCompose({ ...base, TURN_HOST_IPS: "*" })).rejects.toThrow(/TURN_HOST_IPS/);
    await expect(renderCompose({ ...base, TURN_EXTERNAL_IP: `${HOST_PUBLIC_IP}/private` })).rejects.toThrow(/TURN_EXTERNAL_IP/);
    await expect(renderCompose({ ...base, TURN_RELAY_IP: "localhost" })).rejects.toThrow(/TURN_RELAY_IP/);
  });

  it("produces a configuration coturn runs, with the same credentials and refusals", async () => {
    const composePort = await freePort();
    const stateDir = mkdtempSync(join(tmpdir(), "sce-coturn-"));
    // TURN_HOST_IPS unset: auto, as in production.
    const conf = await renderCompose({
      TURN_SECRETS: SECRETS.join(","),
      TURN_REALM: "turn.test",
      TURN_TLS: "off",
      ...sameAddresses,
      TURN_PORT: String(composePort),
      TURN_RELAY_MIN: "42000",
      TURN_RELAY_MAX: "42099",
      TURN_STATE_DIR: stateDir,
    });
    const coturn = await runCoturn(conf, stateDir);
    try {
      const username = `${Math.floor(Date.now() / 1000) + 600}:bob`;
      const password = createHmac("sha1", SECRETS[1]!).update(username).digest("base64");
      expect(await allocate({ host: "127.0.0.1", port: composePort }, { username, password }, { permit: PEERS })).toMatchObject({
        ok: true,
        permissions: DENIED_EXCEPT_PUBLIC,
      });
      expect(await allocate({ host: "127.0.0.1", port: composePort }, { username, password }, { transport: "tcp", relay: "tcp" })).toEqual(TCP_RELAY_REFUSED);
      expect(coturn.output()).not.toMatch(/Wrong address format|Error resolving/);
    } finally {
      await coturn.stop();
    }
  });
});
