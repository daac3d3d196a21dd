/**
 * turn-infra's rendered configuration under a real coturn: the Terraform core module renders
 * turnserver.conf with loopback values (tests/loopback), Debian's `turnserver` runs it, and
 * - a credential issued by the Worker (configured with the module's TURN_POOLS entry) is accepted;
 * - peers in denied ranges (loopback, cloud metadata, RFC 1918) are refused, a public one is not.
 * Also: the compose renderer produces the same hardening as Terraform, and its output runs.
 * Not covered: TLS, the Prometheus exporter and coturn ≥ 4.17 specifics (Debian ships 4.6.1).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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

// Permissions only (nothing is ever sent to these peers): loopback (coturn refuses it by default
// too), cloud metadata and RFC 1918 (refused only because of denied-peer-ip), and one public
// address as the control that permissions work at all.
const PEERS = ["127.0.0.1", "169.254.169.254", "10.1.2.3", "8.8.8.8"];
const DENIED_EXCEPT_PUBLIC = {
  "127.0.0.1": { ok: false, code: 403 },
  "169.254.169.254": { ok: false, code: 403 },
  "10.1.2.3": { ok: false, code: 403 },
  "8.8.8.8": { ok: true },
};

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
    `-var=state_dir=${join(work, "coturn")}`,
  ]);
  const conf = (await terraform(["output", "-raw", `-state=${state}`, "turnserver_conf"])).stdout;
  const pool = JSON.parse((await terraform(["output", "-json", `-state=${state}`, "pool"])).stdout) as typeof rendered.pool;
  rendered = { conf, pool };
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the Terraform-rendered configuration under coturn", () => {
  let coturn: Running;
  let worker: Running & { url: string };

  beforeAll(async () => {
    [coturn, worker] = await Promise.all([
      runCoturn(rendered.conf, mkdtempSync(join(tmpdir(), "sce-coturn-"))),
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

  it("writes the same hardening and secrets as Terraform", async () => {
    const compose = options(await renderCompose({ TURN_SECRETS: SECRETS.join(","), TURN_REALM: "turn.test", TURN_TLS: "off" }));
    const terraformLines = options(rendered.conf);
    for (const prefix of ["denied-peer-ip=", "static-auth-secret=", "user-quota=", "total-quota=", "max-bps=", "stale-nonce="]) {
      expect(compose.filter((line) => line.startsWith(prefix)), prefix).toEqual(terraformLines.filter((line) => line.startsWith(prefix)));
    }
    for (const flag of ["use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers", "no-dtls", "no-software-attribute", "log-file=stdout"]) {
      expect(compose).toContain(flag);
    }
  });

  it("refuses secrets coturn would mangle, and a missing secret", async () => {
    await expect(renderCompose({ TURN_SECRETS: '"quoted"', TURN_REALM: "turn.test" })).rejects.toThrow(/hex/);
    await expect(renderCompose({ TURN_REALM: "turn.test" })).rejects.toThrow(/TURN_SECRETS/);
  });

  it("produces a configuration coturn runs and that accepts the same credentials", async () => {
    const composePort = await freePort();
    const stateDir = mkdtempSync(join(tmpdir(), "sce-coturn-"));
    const conf = await renderCompose({
      TURN_SECRETS: SECRETS.join(","),
      TURN_REALM: "turn.test",
      TURN_TLS: "off",
      TURN_LISTENING_IP: "127.0.0.1",
      TURN_RELAY_IP: "127.0.0.1",
      TURN_PORT: String(composePort),
      TURN_RELAY_MIN: "42000",
      TURN_RELAY_MAX: "42099",
      TURN_STATE_DIR: stateDir,
    });
    const coturn = await runCoturn(conf, stateDir);
    try {
      const username = `${Math.floor(Date.now() / 1000) + 600}:bob`;
      const { createHmac } = await import("node:crypto");
      const password = createHmac("sha1", SECRETS[1]!).update(username).digest("base64");
      expect(await allocate({ host: "127.0.0.1", port: composePort }, { username, password }, { permit: PEERS })).toMatchObject({
        ok: true,
        permissions: DENIED_EXCEPT_PUBLIC,
      });
    } finally {
      await coturn.stop();
    }
  });
});
