import type { Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { startWrangler, type Running } from "../../node/support/processes";
import { hs256Token } from "../../node/support/tokens";
import { launchIn, type Browser } from "./browser";
import { buildTopology, createNamespace, deleteAll, inNamespace } from "./network";

/**
 * The test world of the single-service browser tests: an "internet" namespace holding
 * `wrangler dev` on 100.64.0.1, and a LAN (one router) with Alice's browser and Bob's, Bob's
 * with two tabs. The peers share the LAN, so they connect over host candidates and no coturn
 * runs (the TURN URL the service hands out leads nowhere). Test-only secrets.
 */
export const SERVICE_IP = "100.64.0.1";
const PORT = 8787;
export const ORIGIN = `http://${SERVICE_IP}:${PORT}`;
export const JWT_SECRET = "e2e-only-hs256-secret-0123456789abcdef012345";
const TURN_SECRET = "6532652d7475726e2d7365637265742d3031";

/** The internet namespace and `wrangler dev` inside it, with the demo on and `extra` vars. */
export async function startService(extra: Record<string, string> = {}): Promise<{ internet: string; worker: Running }> {
  const internet = createNamespace("internet");
  inNamespace(internet, "ip", "addr", "add", `${SERVICE_IP}/32`, "dev", "lo");
  const worker = await startWrangler(
    {
      AUTH_JWT_SECRET: JWT_SECRET,
      TURN_SECRETS: TURN_SECRET,
      CORS_ALLOWED_ORIGINS: ORIGIN,
      DEMO: "on",
      TURN_POOLS: JSON.stringify([{ region: "test", location: { latitude: 0, longitude: 0 }, urls: [`turn:${SERVICE_IP}:3478?transport=udp`] }]),
      ...extra,
    },
    { netns: { name: internet, ip: SERVICE_IP, port: PORT } },
  );
  return { internet, worker };
}

/**
 * The service for the test file that calls it: started before the file's tests (with `extra`
 * vars, or those `extra()` makes), stopped and every namespace removed after them, also after a
 * failure. Its fields are set once the file's `beforeAll` has run.
 */
export function serviceForFile(extra: Record<string, string> | (() => Promise<Record<string, string>>) = {}): { internet: string; worker: Running } {
  const service = {} as { internet: string; worker: Running };
  beforeAll(async () => {
    Object.assign(service, await startService(typeof extra === "function" ? await extra() : extra));
  }, 120_000);
  afterAll(async () => {
    await service.worker?.stop();
    deleteAll();
  }, 60_000);
  return service;
}

export interface AliceAndBob {
  alice: Page;
  /** Bob's two tabs: two pages of one browser profile. */
  tab1: Page;
  tab2: Page;
  pages: [string, Page][];
  close: () => Promise<void>;
}

/** Alice's browser and Bob's on one LAN (WAN subnet of `scenario`); `close` removes it all. */
async function aliceAndBob(internet: string, scenario: number): Promise<AliceAndBob> {
  const topology = buildTopology(internet, { scenario, sameLan: true });
  const browsers: Browser[] = [];
  const close = async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
    topology.teardown();
  };
  try {
    browsers.push(await launchIn(topology.clientA, ORIGIN, SERVICE_IP), await launchIn(topology.clientB, ORIGIN, SERVICE_IP));
    const [a, b] = browsers as [Browser, Browser];
    const [tab1, tab2] = [b.page, await b.context.newPage()];
    return { alice: a.page, tab1, tab2, pages: [["Alice", a.page], ["Bob, tab 1", tab1], ["Bob, tab 2", tab2]], close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Runs `test` with one browser's page on a LAN of its own (WAN subnet of `scenario`), then removes it. */
export async function withOneBrowser(internet: string, scenario: number, test: (page: Page) => Promise<void>): Promise<void> {
  const topology = buildTopology(internet, { scenario, sameLan: true });
  let browser: Browser | undefined;
  try {
    browser = await launchIn(topology.clientA, ORIGIN, SERVICE_IP);
    await test(browser.page);
  } finally {
    await browser?.close();
    topology.teardown();
  }
}

/**
 * Runs `test` with Alice and Bob's pages, then removes them; when it fails, first prints what
 * each page's demo logged.
 */
export async function withAliceAndBob(internet: string, scenario: number, test: (world: AliceAndBob) => Promise<void>): Promise<void> {
  const world = await aliceAndBob(internet, scenario);
  try {
    await test(world);
  } catch (error) {
    await dumpEvents(world.pages);
    throw error;
  } finally {
    await world.close();
  }
}

/** Opens the demo page and signs in as `userId` with a dev token, waiting for the line to open. */
export async function signInToDemo(page: Page, userId: string): Promise<void> {
  await page.goto(`${ORIGIN}/demo/`, { timeout: 15_000 });
  await page.evaluate(
    ([user, jwt]) => (globalThis as unknown as { demo: { signIn(userId: string, token: string): Promise<void> } }).demo.signIn(user!, jwt!),
    [userId, await hs256Token(JWT_SECRET, userId)],
  );
  await page.waitForFunction(() => (globalThis as unknown as { demo: { line?: { state: string } } }).demo.line?.state === "open", null, { timeout: 10_000, polling: 100 });
}

/** What each page's demo logged, to tell a line problem from a call one. */
async function dumpEvents(pages: [string, Page][]): Promise<void> {
  for (const [name, page] of pages) {
    const events = await page.evaluate(() => (globalThis as unknown as { demo?: { events: string[] } }).demo?.events ?? []).catch(() => []);
    console.error(`${name}:\n  ${events.join("\n  ")}`);
  }
}
