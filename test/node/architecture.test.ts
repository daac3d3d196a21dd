/**
 * The dependency rule of docs/ARCHITECTURE.md, enforced: dependency-cruiser reads every import
 * of src/ and client/src/ (type-only ones included) and checks them against
 * .dependency-cruiser.cjs. A second suite feeds the same rules a small tree that breaks each of
 * them, so a rule that silently stopped matching (a renamed folder, a parser that misses type
 * imports) fails here too. Not covered: imports made at run time by string (there are none).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cruise, type ICruiseResult, type IConfiguration } from "dependency-cruiser";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const config = createRequire(import.meta.url)(join(root, ".dependency-cruiser.cjs")) as IConfiguration;

async function violations(baseDir: string, paths: string[]) {
  const { output } = await cruise(paths, { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true, baseDir });
  const result = output as ICruiseResult;
  return {
    modules: result.summary.totalCruised,
    found: result.summary.violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`),
  };
}

describe("the repository", () => {
  it("keeps every import of src/ and client/src/ within the layering", async () => {
    const { modules, found } = await violations(root, ["src", "client/src"]);
    expect(found).toEqual([]);
    // Everything was read: a parser that failed on TypeScript would cruise (almost) nothing.
    expect(modules).toBeGreaterThan(40);
  });
});

describe("the rules", () => {
  const dir = mkdtempSync(join(tmpdir(), "layers-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write("src/platform/config.ts", 'import type { TurnPool } from "../turn/regions";\nexport type Config = { pools: TurnPool[] };\n');
  write("src/turn/regions.ts", 'import { verify } from "../auth/verify";\nexport type TurnPool = { region: string };\nexport const check = verify;\n');
  write("src/auth/verify.ts", "export const verify = () => true;\n");
  write("src/calls/machine.ts", 'import type { Job } from "../push/jobs";\nexport type Effect = Job;\n');
  write("src/push/jobs.ts", "export type Job = { id: string };\n");
  write("src/devices/store.ts", 'import { app } from "../api";\nexport const routes = app;\n');
  write("src/api.ts", "export const app = {};\n");
  write("src/metrics/recorder.ts", 'import { routes } from "../devices/store";\nexport const record = routes;\n');
  write("src/turn/ice.ts", 'import { record } from "../metrics/recorder";\nimport { stats } from "../ops/stats";\nexport const iceFor = () => [record, stats];\n');
  write("src/ops/stats.ts", "export const stats = {};\n");
  write("src/a.ts", 'import { b } from "./b";\nexport const a = () => b;\n');
  write("src/b.ts", 'import { a } from "./a";\nexport const b = () => a;\n');
  write("client/src/index.ts", 'import { parse } from "../../src/calls/protocol";\nimport type { Config } from "../../src/platform/config";\nexport const sdk = [parse] as unknown as Config;\n');
  write("src/calls/protocol.ts", "export const parse = () => 1;\n");

  it("refuse upward, sideways and circular imports, and any SDK import of the server, types included", async () => {
    const { found } = await violations(dir, ["src", "client/src"]);
    expect(found.sort()).toEqual(
      [
        "platform-imports-only-lower-layers: src/platform/config.ts → src/turn/regions.ts",
        "turn-imports-only-lower-layers: src/turn/regions.ts → src/auth/verify.ts",
        "calls-imports-only-lower-layers: src/calls/machine.ts → src/push/jobs.ts",
        "devices-imports-only-lower-layers: src/devices/store.ts → src/api.ts",
        "metrics-imports-only-lower-layers: src/metrics/recorder.ts → src/devices/store.ts",
        "turn-imports-only-lower-layers: src/turn/ice.ts → src/ops/stats.ts",
        "no-circular: src/a.ts → src/b.ts",
        "sdk-imports-nothing-of-the-server: client/src/index.ts → src/platform/config.ts",
        "sdk-imports-nothing-of-the-server: client/src/index.ts → src/calls/protocol.ts",
      ].sort(),
    );
  });
});
