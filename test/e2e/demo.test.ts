/**
 * The pages a new user opens, in headless Chromium inside network namespaces, against
 * `wrangler dev` with the dev sign-in on (DEV_TOKENS=on, DEMO=on), clicked as a person would:
 * - the demo page: Call before sign-in and an empty user id give clear messages (the server's own
 *   for the latter) and no exception; Alice and Bob sign in through the page, Alice calls, both
 *   see a ring countdown, Bob has two tabs and answers in one: the other says the call was
 *   answered on another tab; the call connects with labelled videos and live stats (round trip,
 *   loss, bitrate from getStats) filled in; mute and camera toggle the tracks' `enabled`; hang up
 *   stops every camera and microphone track (`readyState` "ended") and empties the per-call
 *   fields on both sides;
 * - `/docs` renders Swagger UI's list of operations from the Worker's own assets with no request
 *   to any other host and no CSP violation, and without those files still says what is missing
 *   and links the document; `/` links everything.
 * Screenshots (checked not to be blank by their colours) go to .tmp/screenshots/. Not covered:
 * NAT traversal (nat-matrix.test.ts; here the peers share a LAN), the line's reconnects
 * (incoming.test.ts). Every wait is bounded; browsers, processes and namespaces are removed at
 * the end, also after a failure. Needs root: `npm run test:e2e -- test/e2e/demo.test.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { distinctColours } from "./support/png";
import { ORIGIN, serviceForFile, withAliceAndBob, withOneBrowser } from "./support/world";

const SCREENSHOTS = resolve(import.meta.dirname, "../../.tmp/screenshots");
const EMPTY = "–";
const CALL_FIELDS = ["#connection-state", "#pair", "#stat-rtt", "#stat-loss", "#stat-send", "#stat-receive"];

// What the tests read inside the page (this project compiles without the DOM library).
type Track = { enabled: boolean; readyState: string };
type Demo = {
  line?: { state: string };
  call?: { pc: { connectionState: string } };
  streams: { getTracks(): Track[] }[];
  localStream?: { getAudioTracks(): Track[]; getVideoTracks(): Track[] };
  events: string[];
};
declare const demo: Demo;
declare const document: { getElementById(id: string): { textContent: string | null; srcObject?: unknown } | null };

// The demo's own sign-in (POST /dev/token), as a developer uses it.
const service = serviceForFile({ DEV_TOKENS: "on" });

beforeAll(() => void mkdirSync(SCREENSHOTS, { recursive: true }));

/** Saves a screenshot of `page` and returns how many colours it has (a blank page has one or two). */
async function screenshot(page: Page, name: string): Promise<number> {
  const png = await page.screenshot({ fullPage: true, timeout: 10_000 });
  writeFileSync(join(SCREENSHOTS, `${name}.png`), png);
  return distinctColours(png);
}

/** Exceptions the page threw: a demo that works throws none, whatever the user clicks. */
function exceptionsOf(page: Page): Error[] {
  const errors: Error[] = [];
  page.on("pageerror", (error) => errors.push(error));
  return errors;
}

async function openDemo(page: Page): Promise<Error[]> {
  const errors = exceptionsOf(page);
  await page.goto(`${ORIGIN}/demo/`, { timeout: 15_000 });
  return errors;
}

async function signIn(page: Page, userId: string) {
  await page.fill("#user", userId, { timeout: 5_000 });
  await page.click("#signin-button", { timeout: 5_000 });
  await page.waitForFunction(() => demo.line?.state === "open", null, { timeout: 10_000, polling: 100 });
  expect(await page.textContent("#whoami")).toBe(`signed in as ${userId}`);
}

const text = (page: Page, selector: string) => page.locator(selector).innerText({ timeout: 5_000 });
const prompt = (page: Page, callId: string) => page.locator(`#ringing .ring[data-call-id="${callId}"]`);
const connected = () => demo.call?.pc.connectionState === "connected";
const statsFilled = () => ["stat-rtt", "stat-loss", "stat-send", "stat-receive"].every((id) => document.getElementById(id)?.textContent !== "–");
const tracksOf = (page: Page) =>
  page.evaluate(() => ({
    audio: demo.localStream?.getAudioTracks()[0]?.enabled,
    video: demo.localStream?.getVideoTracks()[0]?.enabled,
    states: demo.streams.flatMap((stream) => stream.getTracks().map((track) => track.readyState)),
  }));

describe("the demo page", () => {
  it("asks for sign-in before a call, and shows the server's own reason for an empty user id, without an exception", async () => {
    await withOneBrowser(service.internet, 1, async (page) => {
      const errors = await openDemo(page);
      expect(await page.getAttribute('link[rel="icon"]', "href")).toBe("/favicon.svg");
      // Fetched by the page itself: only the browser lives in the namespace (never page.request,
      // which Playwright sends from the host, where the test world's addresses are not local).
      expect(await page.evaluate(() => fetch("/favicon.svg", { signal: AbortSignal.timeout(5_000) }).then((r) => `${r.status} ${r.headers.get("content-type")}`))).toMatch(/^200 image\/svg\+xml/);

      await page.fill("#callee", "bob", { timeout: 5_000 });
      await page.click("#call-button", { timeout: 5_000 });
      await expect.poll(() => text(page, "#error"), { timeout: 5_000 }).toContain("Sign in first");
      expect(await page.evaluate(() => demo.streams.length)).toBe(0);

      await page.click("#signin-button", { timeout: 5_000 });
      await expect.poll(() => text(page, "#error"), { timeout: 5_000 }).toContain("dev user ids are 1 to 64 of A-Z a-z 0-9 _ . @ -");
      expect(await text(page, "#error")).not.toContain("DEV_TOKENS");
      expect(await screenshot(page, "demo-error")).toBeGreaterThan(20);
      expect(errors).toEqual([]);
    });
  }, 60_000);

  it("rings with a countdown, tells the other tab it was answered elsewhere, shows labelled video and live stats, mutes, and releases the camera on hang-up", async () => {
    const id = crypto.randomUUID().slice(0, 8);
    const [alice, bob] = [`alice-${id}`, `bob-${id}`];
    await withAliceAndBob(service.internet, 2, async (world) => {
      const { tab1, tab2 } = world;
      const a = { page: world.alice };
      const errors = await Promise.all([a.page, tab1, tab2].map(openDemo));
      for (const [page, user] of [[a.page, alice], [tab1, bob], [tab2, bob]] as const) await signIn(page, user);

      await a.page.fill("#callee", bob, { timeout: 5_000 });
      await a.page.click("#call-button", { timeout: 5_000 });
      await a.page.locator("#outgoing").waitFor({ timeout: 10_000 });
      expect(await text(a.page, "#outgoing")).toMatch(new RegExp(`Ringing ${bob}… \\d+ s left`));
      const callId = await a.page.evaluate(() => (demo as unknown as { callId: string }).callId);
      for (const tab of [tab1, tab2]) {
        await prompt(tab, callId).waitFor({ timeout: 10_000 });
        expect(await prompt(tab, callId).innerText()).toMatch(new RegExp(`Incoming call from ${alice} \\(video\\) .*\\d+ s left`));
      }
      // The countdown counts down.
      const left = async () => Number((await prompt(tab1, callId).locator(".countdown").innerText()).split(" ")[0]);
      const first = await left();
      await expect.poll(left, { timeout: 5_000, interval: 250 }).toBeLessThan(first);
      expect(await screenshot(tab1, "demo-ringing")).toBeGreaterThan(20);

      await prompt(tab1, callId).getByRole("button", { name: "Answer" }).click({ timeout: 5_000 });
      await prompt(tab2, callId).waitFor({ state: "detached", timeout: 10_000 });
      await expect.poll(() => text(tab2, "#notice"), { timeout: 5_000 }).toBe(`The call from ${alice} was answered on another tab or device.`);

      await Promise.all([a.page, tab1].map((page) => page.waitForFunction(connected, null, { timeout: 20_000, polling: 100 })));
      expect(await text(a.page, "#local-label")).toBe(`You (${alice})`);
      expect(await text(a.page, "#remote-label")).toBe(`Remote (${bob})`);
      expect(await text(tab1, "#local-label")).toBe(`You (${bob})`);
      expect(await text(tab1, "#remote-label")).toBe(`Remote (${alice})`);
      expect(await a.page.locator("#outgoing").isHidden()).toBe(true);
      await Promise.all([a.page, tab1].map((page) => page.waitForFunction(statsFilled, null, { timeout: 15_000, polling: 250 })));
      for (const page of [a.page, tab1]) {
        expect(await text(page, "#stat-rtt")).toMatch(/^\d+ ms$/);
        expect(await text(page, "#stat-loss")).toMatch(/^\d+\.\d %$/);
        expect(await text(page, "#stat-send")).toMatch(/^\d+ kbit\/s$/);
        expect(await text(page, "#stat-receive")).toMatch(/^\d+ kbit\/s$/);
        expect(await text(page, "#pair")).toMatch(/host/);
      }

      expect(await screenshot(a.page, "demo-in-call-alice")).toBeGreaterThan(100);
      expect(await screenshot(tab1, "demo-in-call-bob")).toBeGreaterThan(100);

      await a.page.click("#mute-button", { timeout: 5_000 });
      expect(await tracksOf(a.page)).toMatchObject({ audio: false, video: true });
      expect(await a.page.getAttribute("#mute-button", "aria-pressed")).toBe("true");
      await a.page.click("#camera-button", { timeout: 5_000 });
      expect(await tracksOf(a.page)).toMatchObject({ audio: false, video: false });
      await a.page.click("#mute-button", { timeout: 5_000 });
      await a.page.click("#camera-button", { timeout: 5_000 });
      expect(await tracksOf(a.page)).toMatchObject({ audio: true, video: true });

      await a.page.click("#hangup-button", { timeout: 5_000 });
      for (const page of [a.page, tab1]) {
        await expect.poll(() => text(page, "#call-state"), { timeout: 10_000 }).toBe("ended (hangup)");
        const { states } = await tracksOf(page);
        expect(states.length).toBeGreaterThanOrEqual(2);
        expect(states.every((state) => state === "ended")).toBe(true);
        for (const field of CALL_FIELDS) expect(await text(page, field)).toBe(EMPTY);
        expect(await page.evaluate(() => document.getElementById("local")?.srcObject)).toBeNull();
        expect(await page.isDisabled("#hangup-button")).toBe(true);
      }
      expect(await screenshot(a.page, "demo-after-hangup")).toBeGreaterThan(20);
      for (const pageErrors of errors) expect(pageErrors).toEqual([]);
    });
  }, 90_000);
});

describe("the docs and the landing page", () => {
  it("renders /docs from the Worker alone: its operations listed, no other host asked, no CSP violation", async () => {
    await withOneBrowser(service.internet, 3, async (page) => {
      // The blank-page check can fail: an empty page has almost no colours.
      await page.goto("about:blank");
      expect(await screenshot(page, "blank")).toBeLessThanOrEqual(2);

      const requested: string[] = [];
      const problems: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(error.message));
      await page.goto(`${ORIGIN}/docs`, { timeout: 15_000 });
      await page.locator(".opblock").first().waitFor({ timeout: 20_000 });
      const paths = await page.locator(".opblock-summary-path").allInnerTexts();
      expect(paths.map((path) => path.replace(/\u200b/g, ""))).toEqual(expect.arrayContaining(["/healthz", "/readyz", "/v1/calls/ice-servers", "/v1/calls", "/v1/devices/{deviceId}"]));
      expect(await page.title()).toBe("SecureConnect Edge API");
      expect(requested.filter((url) => !url.startsWith(`${ORIGIN}/`) && !url.startsWith("data:"))).toEqual([]);
      expect(requested).toContain(`${ORIGIN}/openapi.json`);
      expect(problems).toEqual([]);
      expect(await screenshot(page, "docs")).toBeGreaterThan(50);

      // Without the UI's files (a deploy that skipped the client build) the page still reads.
      await page.route("**/docs-ui/**", (route) => route.abort());
      await page.goto(`${ORIGIN}/docs`, { timeout: 15_000 });
      await expect.poll(() => text(page, "#docs-status"), { timeout: 5_000 }).toContain("not deployed with this Worker");
      expect(await page.locator('a[href="/openapi.json"]').count()).toBe(1);
      await page.unroute("**/docs-ui/**");

      await page.goto(`${ORIGIN}/`, { timeout: 15_000 });
      const links = await page.locator("a").evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute("href")));
      expect(links).toEqual(["/demo/", "/docs", "/openapi.json", "/healthz", "/readyz"]);
      expect(await screenshot(page, "landing")).toBeGreaterThan(20);
      await page.getByRole("link", { name: "Demo" }).click({ timeout: 5_000 });
      await page.waitForURL(`${ORIGIN}/demo/`, { timeout: 10_000 });
      expect(await page.title()).toBe("SecureConnect Edge — demo call");
    });
  }, 60_000);
});
