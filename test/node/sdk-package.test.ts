/**
 * The SDK as a user installs it: `npm pack` of the built client/ (npm test builds it first), then
 * two scratch projects in a temporary directory install the tarball offline (no dependencies) and
 * compile a file that imports `SecureConnect` and the wire types with this repository's
 * TypeScript, one under `moduleResolution: bundler` and one under `nodenext`, with
 * `skipLibCheck` off so the published `.d.ts` are checked too; Node then `import()`s the package
 * through its exports map. Also: the tarball holds only dist/, README and LICENSE, and its types
 * name no zod, no path outside the package and no internal notes. Not covered: the SDK's
 * behaviour (test/client, test/e2e), CommonJS consumers (the package is ESM only). No network.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });

// Uses the package as its README does, and would stop compiling if a type went missing or `any`.
const MAIN = `import { ApiError, enableWebPush, SecureConnect, type Call, type CallUpdate, type ClientFrame, type IncomingCall, type LineServerFrame, type ServerFrame } from "@secureconnect/client";

const client = new SecureConnect({ baseUrl: "https://edge.example.com", token: async () => "jwt" });

export async function subscribe(registration: ServiceWorkerRegistration): Promise<string> {
  const device = await enableWebPush(client, { registration, deviceId: "this-browser" });
  return device.deviceId;
}

export async function ring(stream: MediaStream): Promise<Call> {
  const call = await client.call(["bob"], { media: "video", stream });
  call.on("state", (state, reason) => console.log(state.toUpperCase(), reason));
  call.on("track", (remote: MediaStream) => console.log(remote.id));
  return call;
}

export function describeFrame(frame: ServerFrame): string {
  switch (frame.type) {
    case "welcome":
      return frame.you.connectionId + frame.participants.length;
    case "offer":
      return frame.from.userId + frame.sdp.length;
    case "error":
      return frame.code;
    default:
      return frame.type;
  }
}

export function onLine(frame: LineServerFrame): IncomingCall[] | CallUpdate | undefined {
  return frame.type === "welcome" ? frame.calls : frame.type === "call-update" ? frame.call : undefined;
}

export const hello: ClientFrame = { type: "message", data: { hi: [1, true, null] } };
// @ts-expect-error an offer needs its sdp
export const broken: ClientFrame = { type: "offer" };
export const failure = new ApiError(404, "not_found", "no such call");
`;

let dir: string;
let tarball: string;

beforeAll(() => {
  // The build is npm test's pre-step (and the package's prepack); packing without scripts here
  // keeps other tests' wrangler dev from seeing its static assets rewritten mid-run.
  if (!existsSync(join(ROOT, "client/dist/index.d.ts"))) throw new Error("client/dist is missing: run npm run build:client first");
  dir = mkdtempSync(join(tmpdir(), "sce-sdk-pack-"));
  run("npm", ["pack", "--ignore-scripts", "--pack-destination", dir, "--silent"], join(ROOT, "client"));
  const packed = readdirSync(dir).filter((name) => name.endsWith(".tgz"));
  expect(packed).toHaveLength(1);
  tarball = join(dir, packed[0]!);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the packed SDK", () => {
  it("holds only its build, README and licence, with types that stand alone", () => {
    const files = run("tar", ["-tzf", tarball], dir).trim().split("\n").sort();
    expect(files).toEqual(
      ["package/LICENSE", "package/README.md", "package/package.json", "package/dist/index.js", "package/dist/index.js.map", "package/dist/index.d.ts", "package/dist/negotiation.d.ts", "package/dist/protocol.d.ts", "package/dist/call-report.d.ts", "package/dist/push.d.ts"].sort(),
    );
    const unpacked = join(dir, "unpacked");
    mkdirSync(unpacked);
    run("tar", ["-xzf", tarball, "-C", unpacked], dir);
    const manifest = JSON.parse(readFileSync(join(unpacked, "package/package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest).toMatchObject({ license: "MIT", type: "module", exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } } });
    expect(manifest).not.toHaveProperty("dependencies");
    expect(manifest).not.toHaveProperty("peerDependencies");
    for (const name of ["index.d.ts", "negotiation.d.ts", "protocol.d.ts"]) {
      const types = readFileSync(join(unpacked, "package/dist", name), "utf8");
      expect(types).not.toMatch(/from "\.\.\//);
      expect(types).not.toMatch(/zod|contract|section \d|@internal|src\/calls/i);
      for (const [, specifier] of types.matchAll(/from "([^"]+)"/g)) expect(specifier).toMatch(/^\.\/[a-z-]+\.js$/);
    }
  });

  it.each([
    ["bundler", { module: "esnext", moduleResolution: "bundler" }],
    ["nodenext", { module: "nodenext", moduleResolution: "nodenext" }],
  ])("installs offline and compiles under moduleResolution %s, without zod", (name, resolution) => {
    const project = join(dir, name);
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: `scratch-${name}`, private: true, type: "module" }));
    run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], project);
    expect(readdirSync(join(project, "node_modules")).filter((entry) => !entry.startsWith("."))).toEqual(["@secureconnect"]);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "es2022", lib: ["es2022", "dom"], ...resolution, strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: ["main.ts"],
      }),
    );
    writeFileSync(join(project, "main.ts"), MAIN);
    try {
      run(process.execPath, [TSC, "-p", project], project);
    } catch (error) {
      throw new Error(`tsc failed under ${name}:\n${(error as { stdout?: string }).stdout ?? error}`);
    }
    // The exports map resolves in Node, and loading the SDK touches no browser API.
    const exported = run(process.execPath, ["--input-type=module", "-e", 'const sdk = await import("@secureconnect/client"); console.log(Object.keys(sdk).sort().join(","))'], project);
    expect(exported.trim().split(",")).toEqual(expect.arrayContaining(["ApiError", "Call", "Line", "SecureConnect"]));
  });
});
