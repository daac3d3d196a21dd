/**
 * Incoming calls on the user's line (`GET /v1/me/ws`), in real browsers through the demo page:
 * Alice calls Bob by user id only (no join link); Bob has two tabs open, and both ring ("Incoming
 * call from alice-…"), one of them on a line that dropped and reconnected first. Bob answers in
 * tab 1: tab 2's prompt goes away on the line's `call-update`, and Alice and Bob's tab 1 connect.
 * Proves the SDK's `listen()` (welcome, incoming-call, call-update, reconnect) and the demo's
 * prompts against `wrangler dev`. Not covered: NAT traversal (test/e2e/nat-matrix.test.ts; here
 * the peers share a LAN and connect over host candidates, so no coturn runs and the TURN URL the
 * service hands out leads nowhere), declining, and the ring timing out. Every wait is bounded;
 * every browser, process and namespace is removed at the end, also after a failure.
 * Needs root (namespaces): `npm run test:e2e -- test/e2e/incoming.test.ts`.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallUpdate, IncomingCall } from "../../src/calls/line-protocol";
import { startWrangler, type Running } from "../node/support/processes";
import { hs256Token } from "../node/support/tokens";
import { launchIn, type Browser } from "./support/browser";
import { buildTopology, createNamespace, deleteAll, inNamespace } from "./support/network";

const SERVICE_IP = "100.64.0.1";
const PORT = 8787;
const ORIGIN = `http://${SERVICE_IP}:${PORT}`;
const JWT_SECRET = "e2e-only-hs256-secret-0123456789abcdef012345";
const TURN_SECRET = "6532652d7475726e2d7365637265742d3031";

type Demo = {
  signIn(userId: string, token: string): Promise<void>;
  startCall(callee: string): Promise<string>;
  line?: { state: string; ws?: WebSocket };
  incoming: IncomingCall[];
  updates: CallUpdate[];
  call?: { callId: string; pc: { connectionState: string } };
  events: string[];
};
declare const demo: Demo;

let internet: string;
let worker: Running;

beforeAll(async () => {
  internet = createNamespace("internet");
  inNamespace(internet, "ip", "addr", "add", `${SERVICE_IP}/32`, "dev", "lo");
  worker = await startWrangler(
    {
      AUTH_JWT_SECRET: JWT_SECRET,
      TURN_SECRETS: TURN_SECRET,
      CORS_ALLOWED_ORIGINS: ORIGIN,
      DEMO: "on",
      TURN_POOLS: JSON.stringify([{ region: "test", location: { latitude: 0, longitude: 0 }, urls: [`turn:${SERVICE_IP}:3478?transport=udp`] }]),
    },
    { netns: { name: internet, ip: SERVICE_IP, port: PORT } },
  );
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  deleteAll();
}, 60_000);

async function signIn(page: Page, userId: string) {
  await page.goto(`${ORIGIN}/demo/`, { timeout: 15_000 });
  await page.evaluate(([user, jwt]) => demo.signIn(user!, jwt!), [userId, await hs256Token(JWT_SECRET, userId)]);
  await page.waitForFunction(() => demo.line?.state === "open", null, { timeout: 10_000, polling: 100 });
}

const prompt = (page: Page, callId: string) => page.locator(`#ringing .ring[data-call-id="${callId}"]`);
const connected = () => demo.call?.pc.connectionState === "connected";

/** What each page saw, to tell a line problem from a call one. */
async function dumpEvents(pages: [string, Page][]) {
  for (const [name, page] of pages) {
    const events = await page.evaluate(() => (globalThis as unknown as { demo?: { events: string[] } }).demo?.events ?? []).catch(() => []);
    console.error(`${name}:\n  ${events.join("\n  ")}`);
  }
}

describe("incoming calls on the user's line", () => {
  it("rings every tab of the callee; answering in one stops the others ringing and connects the call", async () => {
    const id = crypto.randomUUID().slice(0, 8);
    const [alice, bob] = [`alice-${id}`, `bob-${id}`];
    const topology = buildTopology(internet, { scenario: 1, sameLan: true });
    const browsers: Browser[] = [];
    const pages: [string, Page][] = [];
    try {
      browsers.push(await launchIn(topology.clientA, ORIGIN, SERVICE_IP), await launchIn(topology.clientB, ORIGIN, SERVICE_IP));
      const [a, b] = browsers as [Browser, Browser];
      // Bob's two tabs: two pages of one browser profile.
      const [tab1, tab2] = [b.page, await b.context.newPage()];
      pages.push(["Alice", a.page], ["Bob, tab 1", tab1], ["Bob, tab 2", tab2]);
      await Promise.all([signIn(a.page, alice), signIn(tab1, bob), signIn(tab2, bob)]);

      // Tab 2's line drops (an abnormal close); the SDK opens it again and is welcomed anew.
      await tab2.evaluate(() => demo.line!.ws!.close(4000, "test: dropped"));
      const reopened = () => demo.events.filter((event) => / line open$/.test(event)).length >= 2;
      await tab2.waitForFunction(reopened, null, { timeout: 10_000, polling: 100 });

      const callId = await a.page.evaluate((callee) => demo.startCall(callee), bob);
      for (const tab of [tab1, tab2]) {
        await prompt(tab, callId).waitFor({ timeout: 10_000 });
        expect(await prompt(tab, callId).innerText()).toContain(`Incoming call from ${alice}`);
        const ringing = await tab.evaluate(() => demo.incoming);
        expect(ringing).toEqual([expect.objectContaining({ callId, caller: alice, callees: [bob], media: "video" })]);
      }

      await prompt(tab1, callId).getByRole("button", { name: "Answer" }).click({ timeout: 5_000 });

      // Tab 2 hears that Bob answered elsewhere; its prompt goes away and it never joins.
      await prompt(tab2, callId).waitFor({ state: "detached", timeout: 10_000 });
      expect(await tab2.evaluate(() => demo.updates)).toContainEqual({ callId, state: "active", answeredBy: bob });
      expect(await tab2.evaluate(() => demo.incoming)).toEqual([]);
      expect(await tab2.evaluate(() => demo.call)).toBeUndefined();

      await Promise.all([a.page, tab1].map((page) => page.waitForFunction(connected, null, { timeout: 20_000, polling: 100 })));
      expect(await tab1.evaluate(() => demo.call!.callId)).toBe(callId);
      await prompt(tab1, callId).waitFor({ state: "detached", timeout: 5_000 });
    } catch (error) {
      await dumpEvents(pages);
      throw error;
    } finally {
      await Promise.all(browsers.map((browser) => browser.close()));
      topology.teardown();
    }
  }, 90_000);
});
