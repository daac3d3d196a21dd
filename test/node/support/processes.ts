import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Real processes for the Node test project: `wrangler dev` serving the Worker, a coturn, its
 * echo peer, HAProxy as the APNs relay. Everything listens on 127.0.0.1 only, every wait is bounded, and `stop()` kills the
 * process (SIGTERM, then SIGKILL) and removes its temporary files.
 */
export interface Running {
  output: () => string;
  stop: () => Promise<void>;
}

const REPO = resolve(import.meta.dirname, "../../..");
const children = new Set<ChildProcess>();
process.once("exit", () => children.forEach((child) => child.kill("SIGKILL")));

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function launch(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-200_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!killed) child.kill("SIGKILL");
      await Promise.race([exited, sleep(2000)]);
    }
    children.delete(child);
  };
  return { child, output: () => output, stop };
}

async function waitFor(what: string, ready: () => Promise<boolean>, process: { child: ChildProcess; output: () => string }, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process.child.exitCode !== null) throw new Error(`${what} exited early:\n${process.output()}`);
    if (await ready().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms:\n${process.output()}`);
}

/** `wrangler dev` on 127.0.0.1 with `vars` (written to a temporary env file, never to the repo). */
export async function startWrangler(
  vars: Record<string, string>,
  options: { config?: string; netns?: { name: string; ip: string; port: number }; testScheduled?: boolean } = {},
): Promise<Running & { url: string; pid: () => number | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), "sce-wrangler-"));
  const envFile = join(dir, ".env");
  // Single quotes: dotenv keeps the value literally (JSON included); no value here has a quote.
  writeFileSync(envFile, Object.entries(vars).map(([key, value]) => `${key}='${value}'`).join("\n"));
  const port = options.netns?.port ?? (await freePort());
  const inspectorPort = await freePort();
  const host = options.netns?.ip ?? "127.0.0.1";
  // Inside a test namespace the command runs through `ip netns exec`, which execs it in place.
  const [command, ...prefix] = options.netns ? ["ip", "netns", "exec", options.netns.name, process.execPath] : [process.execPath];
  const wrangler = launch(
    command!,
    [
      ...prefix,
      join(REPO, "node_modules/wrangler/bin/wrangler.js"),
      "dev",
      ...(options.config ? [`--config=${resolve(REPO, options.config)}`] : []),
      `--ip=${host}`,
      `--port=${port}`,
      `--inspector-port=${inspectorPort}`,
      `--env-file=${envFile}`,
      `--persist-to=${join(dir, "state")}`,
      "--show-interactive-dev-session=false",
      "--log-level=log",
      // GET /__scheduled runs the cron handler (the TURN health probes) on demand.
      ...(options.testScheduled ? ["--test-scheduled"] : []),
    ],
    { env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", CI: "1" } },
  );
  const url = `http://${host}:${port}`;
  // A namespace's addresses are not local to the host (they would be routed out): probe from inside.
  const healthy = options.netns
    ? async () => probeInNamespace(options.netns!.name, `${url}/healthz`)
    : async () => (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).ok;
  try {
    await waitFor("wrangler dev", healthy, wrangler, 60_000);
  } catch (error) {
    await wrangler.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    pid: () => wrangler.child.pid,
    output: wrangler.output,
    stop: async () => {
      await wrangler.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Debian's coturn on `ip`:`port` (127.0.0.1 unless told another loopback address) with
 * `use-auth-secret` and one `static-auth-secret` line per secret, as turn-infra configures
 * production (minus TLS), plus what loopback tests need.
 */
export async function startCoturn(options: { secrets: string[]; port: number; realm?: string; ip?: string }): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), "sce-coturn-"));
  const relayBase = 40_000 + Math.floor(Math.random() * 200) * 100;
  const ip = options.ip ?? "127.0.0.1";
  const config = [
    `listening-ip=${ip}`,
    `relay-ip=${ip}`,
    `listening-port=${options.port}`,
    `min-port=${relayBase}`,
    `max-port=${relayBase + 99}`,
    "use-auth-secret",
    ...options.secrets.map((secret) => `static-auth-secret=${secret}`),
    `realm=${options.realm ?? "turn.test"}`,
    "fingerprint",
    "no-cli",
    "no-tls",
    "no-dtls",
    "no-multicast-peers",
    // Loopback peers are refused in production (turn-infra); here the echo peer is on 127.0.0.1.
    "allow-loopback-peers",
    `userdb=${join(dir, "turndb")}`,
    `pidfile=${join(dir, "turnserver.pid")}`,
    "log-file=stdout",
    "simple-log",
    "no-software-attribute",
  ];
  return runCoturn(`${config.join("\n")}\n`, dir);
}

/**
 * Debian's `turnserver` with a given configuration (e.g. one Terraform rendered). `dir` holds the
 * file and is removed on stop; the configuration must keep its state under it.
 */
export async function runCoturn(configuration: string, dir = mkdtempSync(join(tmpdir(), "sce-coturn-")), netns?: string): Promise<Running> {
  writeFileSync(join(dir, "turnserver.conf"), configuration);
  const coturn = netns
    ? launch("ip", ["netns", "exec", netns, "turnserver", "-c", join(dir, "turnserver.conf")], { cwd: dir })
    : launch("turnserver", ["-c", join(dir, "turnserver.conf")], { cwd: dir });
  const stop = async () => {
    await coturn.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("coturn", async () => coturn.output().includes("Total General servers"), coturn, 15_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { output: coturn.output, stop };
}

/**
 * Debian's `haproxy` running turn-infra's APNs relay configuration (turn-infra/apns-relay/haproxy.cfg,
 * the file hosts run) with `env` as its parameters, listening on `port`. Only PATH and `env` reach
 * it, so nothing from the test runner's environment changes the configuration.
 */
export async function startHaproxy(env: Record<string, string>, port: number): Promise<Running> {
  const unprivileged = process.getuid?.() === 0 ? {} : { APNS_RELAY_UNPRIVILEGED: "1" };
  // A bare environment: NodeJS.ProcessEnv is typed with the Worker's variables, which it lacks.
  const bare = { PATH: process.env.PATH, ...unprivileged, ...env } as unknown as NodeJS.ProcessEnv;
  const haproxy = launch("haproxy", ["-db", "-f", join(REPO, "turn-infra/apns-relay/haproxy.cfg")], { env: bare });
  const listening = () =>
    new Promise<boolean>((done) => {
      const socket = connect({ host: "127.0.0.1", port }, () => (socket.destroy(), done(true)));
      socket.once("error", () => done(false));
      socket.setTimeout(1000, () => (socket.destroy(), done(false)));
    });
  try {
    await waitFor("haproxy", listening, haproxy, 15_000);
  } catch (error) {
    await haproxy.stop();
    throw error;
  }
  return { output: haproxy.output, stop: haproxy.stop };
}

/** GET `url` from inside network namespace `ns`; true on a 2xx. Bounded to 3 s. */
function probeInNamespace(ns: string, url: string): Promise<boolean> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  return new Promise((done) => {
    const probe = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", script], { stdio: "ignore" });
    const timer = setTimeout(() => probe.kill("SIGKILL"), 3000);
    probe.once("exit", (code) => {
      clearTimeout(timer);
      done(code === 0);
    });
  });
}

/** `turnutils_peer`: a UDP echo peer on 127.0.0.1:`port` for relayed data. */
export async function startEchoPeer(port: number): Promise<Running> {
  const peer = launch("turnutils_peer", ["-L", "127.0.0.1", "-p", String(port)]);
  await sleep(300);
  if (peer.child.exitCode !== null) throw new Error(`turnutils_peer exited:\n${peer.output()}`);
  return peer;
}

/**
 * Runs `turnutils_uclient` against the TURN server with the credential: it allocates a relay,
 * binds a channel to the echo peer and sends `messages` packets through it. Resolves with its
 * exit code and output; killed after `timeoutMs`.
 */
export async function relayThroughTurn(options: {
  server: { host: string; port: number };
  peerPort: number;
  username: string;
  password: string;
  messages?: number;
  tcp?: boolean;
  timeoutMs?: number;
}): Promise<{ code: number | null; output: string }> {
  const args = [
    "-u", options.username,
    "-w", options.password,
    "-e", "127.0.0.1",
    "-r", String(options.peerPort),
    "-n", String(options.messages ?? 3),
    "-p", String(options.server.port),
    ...(options.tcp ? ["-t"] : []),
    options.server.host,
  ];
  const client = launch("turnutils_uclient", args);
  const exited = new Promise<number | null>((done) => client.child.once("exit", (code) => done(code)));
  const code = await Promise.race([exited, sleep(options.timeoutMs ?? 20_000).then(() => "timeout" as const)]);
  await client.stop();
  return { code: code === "timeout" ? null : code, output: client.output() };
}
