/**
 * wrangler.toml's environments. Wrangler inherits no binding or variable into `[env.staging]`,
 * so staging repeats them: this suite holds the two in step (the same Durable Objects, KV, queue
 * settings, rate limits and variables), with staging's own queues, rate-limit namespaces and
 * Worker name so it never touches production's; both environments name their dead-letter queue
 * "<queue>-dlq" as src/index.ts expects; production leaves the demo off. And `wrangler deploy
 * --dry-run --env staging` builds offline. Not covered: a real deploy (it needs an account).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unstable_readConfig } from "wrangler";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
/** What this suite reads of wrangler's resolved configuration (its own types do not resolve here). */
interface WranglerConfig {
  name: string;
  vars: Record<string, unknown>;
  assets?: unknown;
  durable_objects: { bindings: { name: string; class_name: string }[] };
  kv_namespaces: { binding: string }[];
  queues: { producers?: { binding: string; queue: string }[]; consumers?: { queue: string; dead_letter_queue?: string; [setting: string]: unknown }[] };
  ratelimits: { name: string; namespace_id: string; simple: unknown }[];
}
const read = (env?: string) => unstable_readConfig({ config: join(ROOT, "wrangler.toml"), ...(env ? { env } : {}) }) as unknown as WranglerConfig;
const production = read();
const staging = read("staging");

describe("wrangler.toml's staging environment", () => {
  it("is a Worker of its own", () => {
    expect(production.name).toBe("secureconnect-edge");
    expect(staging.name).toBe("secureconnect-edge-staging");
  });

  it("has every binding production has", () => {
    expect(staging.durable_objects.bindings).toEqual(production.durable_objects.bindings);
    expect(staging.kv_namespaces.map((kv) => kv.binding)).toEqual(production.kv_namespaces.map((kv) => kv.binding));
    expect(staging.queues.producers?.map((queue) => queue.binding)).toEqual(production.queues.producers?.map((queue) => queue.binding));
    expect(staging.ratelimits.map(({ name, simple }) => ({ name, simple }))).toEqual(production.ratelimits.map(({ name, simple }) => ({ name, simple })));
    expect(staging.assets).toEqual(production.assets);
  });

  it("has production's variables, and only staging shows the demo", () => {
    const { DEMO, ...rest } = staging.vars as Record<string, unknown>;
    expect(rest).toEqual(production.vars);
    expect(DEMO).toBe("on");
    expect(production.vars).not.toHaveProperty("DEMO");
  });

  it("uses queues and rate-limit namespaces of its own, with the same consumer settings", () => {
    const names = (config: WranglerConfig) => config.queues.consumers?.map((consumer) => consumer.queue) ?? [];
    expect(names(staging).filter((name) => names(production).includes(name))).toEqual([]);
    const settings = (config: WranglerConfig) => config.queues.consumers?.map(({ queue: _q, dead_letter_queue: _d, ...rest }) => rest);
    expect(settings(staging)).toEqual(settings(production));
    const ids = (config: WranglerConfig) => config.ratelimits.map((limit) => limit.namespace_id);
    expect(ids(staging).filter((id) => ids(production).includes(id))).toEqual([]);
    for (const config of [production, staging]) {
      const [main, deadLetters] = config.queues.consumers!;
      expect(main!.dead_letter_queue).toBe(`${main!.queue}-dlq`);
      expect(deadLetters!.queue).toBe(main!.dead_letter_queue);
      expect(config.queues.producers?.[0]?.queue).toBe(main!.queue);
    }
  });

  it("builds with wrangler deploy --dry-run --env staging, offline", () => {
    const out = mkdtempSync(join(tmpdir(), "sce-staging-"));
    try {
      const output = execFileSync(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--env", "staging", "--outdir", out], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", CI: "1" },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 120_000,
      });
      expect(output).toContain("secureconnect-push-staging");
      expect(output).toContain("--dry-run: exiting now.");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
