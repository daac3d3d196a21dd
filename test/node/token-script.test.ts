/**
 * `npm run token` (scripts/token.mjs) as a developer meets it: `--help` prints the usage and
 * exits 0, a mistyped option names itself and prints the usage (exit 2, no stack trace), and a
 * user id gives an HS256 JWT for that user with the requested lifetime. Not covered: that
 * wrangler dev accepts it (the README's curl line; test/auth covers HS256 verification).
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const token = (...args: string[]) => spawnSync(process.execPath, ["scripts/token.mjs", ...args], { cwd: ROOT, encoding: "utf8", timeout: 20_000 });

describe("npm run token", () => {
  it.each([["--help"], ["-h"]])("%s prints the usage and exits 0", (flag) => {
    const result = token(flag);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run token -- <userId>/);
  });

  it("names an unknown option and prints the usage, without a stack trace", () => {
    const result = token("--bogus");
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("Unknown option '--bogus'");
    expect(result.stderr).toContain("usage: npm run token");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("mints a token for the user with the asked lifetime and scope", () => {
    const result = token("alice", "--ttl", "600", "--scope", "push:send");
    expect(result.status).toBe(0);
    const [, payload] = result.stdout.trim().split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { sub: string; exp: number; iat: number; scope: string };
    expect(claims).toMatchObject({ sub: "alice", scope: "push:send" });
    expect(claims.exp - claims.iat).toBe(600);
  });
});
