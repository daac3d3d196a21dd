/**
 * The operator's status page, end to end in real browsers: Alice and Bob (headless Chromium in
 * their own network namespaces, one LAN) make two real calls through the demo page against
 * `wrangler dev`; the SDK reports each call by itself (first connected, hang-up) and the demo
 * shows what it reported. Then a third page signs in to `/status/` with an admin token (after
 * a refused one) and sees the two calls counted, the four client verdicts connected, the region
 * and the direct path, served with its CSP. A full-page screenshot goes to
 * `.tmp/status.png` and must decode to a page with many colours (charts and text drawn), not a
 * blank one. Not covered: relayed calls (the NAT matrix covers TURN paths; here the peers connect
 * over host candidates, so no coturn runs), Analytics Engine (dropped by wrangler dev). Every wait
 * is bounded; browsers, processes and namespaces are removed at the end, also after a failure.
 * Needs root (namespaces): `npm run test:e2e -- test/e2e/status.test.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { CallReport } from "../../client/src/protocol";
import { hs256Token } from "../node/support/tokens";
import { distinctColours } from "./support/png";
import { JWT_SECRET, ORIGIN, serviceForFile, signInToDemo, withAliceAndBob } from "./support/world";

const SCREENSHOT = join(import.meta.dirname, "../../.tmp/status.png");

type Demo = {
  startCall(callee: string): Promise<string>;
  join(callId: string): Promise<void>;
  line?: { state: string };
  call?: { callId: string; state: string; pc: { connectionState: string }; accept(): void; hangup(): void };
  reports: CallReport[];
  events: string[];
};
declare const demo: Demo;

const service = serviceForFile();

/** One call from `caller` to `callee`, answered, connected, then hung up by the caller. */
async function call(caller: Page, callee: Page, calleeId: string, reportsBefore: number) {
  const callId = await caller.evaluate((id) => demo.startCall(id), calleeId);
  await callee.evaluate((id) => demo.join(id), callId);
  await callee.evaluate(() => demo.call!.accept());
  const connected = () => demo.call?.pc.connectionState === "connected";
  await Promise.all([caller, callee].map((page) => page.waitForFunction(connected, null, { timeout: 20_000, polling: 100 })));
  // The first-connected report goes out on its own before the hang-up.
  const reported = (count: number) => demo.reports.length >= count;
  await Promise.all([caller, callee].map((page) => page.waitForFunction(reported, reportsBefore + 1, { timeout: 10_000, polling: 100 })));
  await caller.evaluate(() => demo.call!.hangup());
  await Promise.all([caller, callee].map((page) => page.waitForFunction(reported, reportsBefore + 2, { timeout: 10_000, polling: 100 })));
  return callId;
}

describe("the status page", () => {
  it("shows the calls two browsers made, and what their SDKs reported", async () => {
    const id = crypto.randomUUID().slice(0, 8);
    const [alice, bob] = [`alice-${id}`, `bob-${id}`];
    await withAliceAndBob(service.internet, 1, async (world) => {
      const [a, b] = [world.alice, world.tab1];
      await Promise.all([signInToDemo(a, alice), signInToDemo(b, bob)]);

      await call(a, b, bob, 0);
      await call(a, b, bob, 2);
      for (const page of [a, b]) {
        const reports = await page.evaluate(() => demo.reports);
        expect(reports.map((report) => report.trigger)).toEqual(["connected", "hangup", "connected", "hangup"]);
        for (const report of reports) {
          // One LAN: a direct host pair (the far side may show as peer-reflexive before its candidate arrives).
          expect(report).toMatchObject({ outcome: "connected", region: "test", localCandidateType: "host", protocol: "udp", iceRestarts: 0 });
          expect(["host", "prflx"]).toContain(report.remoteCandidateType);
          expect(report.timeToConnectedMs).toBeGreaterThanOrEqual(0);
        }
        // The demo shows the figures it reported for its own call.
        expect(await page.locator("#reported").innerText()).toMatch(/^hangup: connected, \d+ ms to connect, host\/(host|prflx) udp/);
      }

      const status = world.tab2;
      world.pages.push(["status", status]);
      const served = await status.goto(`${ORIGIN}/status/`, { timeout: 15_000 });
      expect(served!.status()).toBe(200);
      expect(served!.headers()["content-security-policy"]).toContain("script-src 'self'");
      expect(served!.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
      // The headers file configures the assets; it is not one of them.
      expect(await status.evaluate(() => fetch("/_headers").then((response) => response.status))).toBe(404);

      // A token without scope admin is refused, and the page says so.
      await status.fill("#token", await hs256Token(JWT_SECRET, "ops"));
      await status.click("#signin button[type=submit]");
      await status.locator("#signin-error").filter({ hasText: "Refused (403)" }).waitFor({ timeout: 10_000 });

      await status.fill("#token", await hs256Token(JWT_SECRET, "ops", { scope: "admin" }));
      await status.click("#signin button[type=submit]");
      // The rollup takes its flushes a moment after the reports; the page refreshes every 5 s.
      const shows = async (selector: string, value: string) => status.locator(selector).filter({ hasText: new RegExp(`^${value}$`) }).waitFor({ timeout: 30_000 });
      await shows("#calls-placed", "2");
      await shows("#calls-answered", "2");
      await shows("#ice-verdicts", "4");
      await shows("#ice-success", "100.0 %");
      expect(await status.locator("#ice-regions").innerText()).toMatch(/^test\s+4\s+100\.0 %\s+100\.0 %/);
      expect(await status.locator("#ice-candidates").innerText()).toMatch(/^host\/(host|prflx)\s+\d\s+100\.0 %/);
      // No probe has run (wrangler dev runs no cron by itself): the pool's one host is not known yet.
      expect(await status.locator("#turn-fleet").innerText()).toMatch(/^test\s+100\.64\.0\.1\s+unknown/);
      expect(await status.locator("#chart-calls polyline").count()).toBe(3);
      // The token lives in this tab's session storage, never in the URL.
      expect(status.url()).toBe(`${ORIGIN}/status/`);
      expect(await status.evaluate(() => sessionStorage.getItem("secureconnect.admin-token"))).toMatch(/^ey/);

      mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
      const png = await status.screenshot({ fullPage: true, timeout: 10_000 });
      writeFileSync(SCREENSHOT, png);
      // A blank or failed page has one or two colours; text, tiles and chart lines make hundreds.
      expect(distinctColours(png)).toBeGreaterThan(50);
    });
  }, 120_000);
});
