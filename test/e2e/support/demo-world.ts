import type { Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { startWrangler, type Running } from "../../node/support/processes";
import { hs256Token } from "../../node/support/tokens";
import { launchIn, type Browser } from "./browser";
import { buildTopology, createNamespace, deleteAll, inNamespace } from "./network";

/**
 * The world of the browser tests that need no TURN server: an "internet" namespace with
 * `wrangler dev` on 100.64.0.1:8787 (one pool whose TURN URL leads nowhere), the demo page signed
 * in with dev tokens, and what each page saw when a test fails.
 */
const SERVICE_IP = "100.64.0.1";
const PORT = 8787;
export const ORIGIN = `http://${SERVICE_IP}:${PORT}`;
export const JWT_SECRET = "e2e-only-hs256-secret-0123456789abcdef012345";
const TURN_SECRET = "6532652d7475726e2d7365637265742d3031";

/** The world for the test file that calls it: created before its tests, removed after them (also after a failure). */
export function demoWorld(): { onOneLan: (run: (a: Browser, b: Browser, pages: [string, Page][]) => Promise<void>) => Promise<void> } {
  let world: { internet: string; worker: Running } | undefined;
  beforeAll(async () => {
    world = await startDemoWorld();
  }, 120_000);
  afterAll(async () => {
    await world?.worker.stop();
    deleteAll();
  }, 60_000);
  return {
    /**
     * Runs `run` with two browsers on one LAN (client-a and client-b of scenario 1); on a failure
     * prints what the demo pages in `pages` logged; always closes the browsers and the LAN.
     */
    async onOneLan(run) {
      const topology = buildTopology(world!.internet, { scenario: 1, sameLan: true });
      const browsers: Browser[] = [];
      const pages: [string, Page][] = [];
      try {
        browsers.push(await launchIn(topology.clientA, ORIGIN, SERVICE_IP), await launchIn(topology.clientB, ORIGIN, SERVICE_IP));
        await run(browsers[0]!, browsers[1]!, pages);
      } catch (error) {
        await dumpDemoEvents(pages);
        throw error;
      } finally {
        await Promise.all(browsers.map((browser) => browser.close()));
        topology.teardown();
      }
    },
  };
}

async function startDemoWorld(): Promise<{ internet: string; worker: Running }> {
  const internet = createNamespace("internet");
  inNamespace(internet, "ip", "addr", "add", `${SERVICE_IP}/32`, "dev", "lo");
  const worker = await startWrangler(
    {
      AUTH_JWT_SECRET: JWT_SECRET,
      TURN_SECRETS: TURN_SECRET,
      CORS_ALLOWED_ORIGINS: ORIGIN,
      TURN_POOLS: JSON.stringify([{ region: "test", location: { latitude: 0, longitude: 0 }, urls: [`turn:${SERVICE_IP}:3478?transport=udp`] }]),
    },
    { netns: { name: internet, ip: SERVICE_IP, port: PORT } },
  );
  return { internet, worker };
}

/** Opens the demo page and signs in as `userId` (a dev token), waiting for the line to open. */
export async function signInToDemo(page: Page, userId: string): Promise<void> {
  await page.goto(`${ORIGIN}/demo/`, { timeout: 15_000 });
  await page.evaluate(([user, jwt]) => (globalThis as unknown as { demo: { signIn(u: string, t: string): Promise<void> } }).demo.signIn(user!, jwt!), [userId, await hs256Token(JWT_SECRET, userId)]);
  await page.waitForFunction(() => (globalThis as unknown as { demo: { line?: { state: string } } }).demo.line?.state === "open", null, { timeout: 10_000, polling: 100 });
}

/** Prints what each page's demo logged: to tell a line problem from a call one. */
async function dumpDemoEvents(pages: [string, Page][]): Promise<void> {
  for (const [name, page] of pages) {
    const events = await page.evaluate(() => (globalThis as unknown as { demo?: { events: string[] } }).demo?.events ?? []).catch(() => []);
    console.error(`${name}:\n  ${events.join("\n  ")}`);
  }
}
