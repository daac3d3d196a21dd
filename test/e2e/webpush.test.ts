/**
 * Web Push in a real browser, as far as Chromium goes without a real push service: the demo page
 * registers its service worker (client/public/demo/sw.js), the SDK's `enableWebPush` fetches the
 * service's VAPID key and asks Chromium to subscribe, and the service worker's `push` handler,
 * driven through DevTools (`ServiceWorker.deliverPushMessage`, what a push service's delivery
 * fires) with the very messages the Worker sends (src/push/payloads.ts webPushMessage), shows an
 * incoming call that rings until the call's next notice replaces it under the same tag
 * (`registration.getNotifications()`).
 * Not covered: Chromium's own subscription (it needs Google's push service, which the test world
 * cannot reach, and Chromium then waits forever: the test proves that the SDK got the key and
 * gives up within its bound, saying why) and the
 * encryption (test/push/webpush.test.ts decrypts every message like a browser).
 * Needs root (namespaces): `npm run test:e2e -- test/e2e/webpush.test.ts`.
 */
import type { CDPSession, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webPushMessage } from "../../src/push/payloads";
import { fromCallNotice } from "../../src/push/push-notification";
import type { Running } from "../node/support/processes";
import { hs256Token } from "../node/support/tokens";
import { launchIn, type Browser } from "./support/browser";
import { buildTopology, deleteAll, type Topology } from "./support/network";
import { JWT_SECRET, ORIGIN, SERVICE_IP, startService } from "./support/world";

type Shown = { title: string; body: string; tag: string; requireInteraction: boolean; actions: string[]; data: Record<string, string> };
declare const demo: {
  signIn(userId: string, token: string): Promise<void>;
  enablePush(options?: { timeoutMs?: number }): Promise<unknown>;
  serviceWorker?: object;
  pushesShown: { type: "push-shown"; kind: string; tag?: string }[];
};
// The page's service worker container (this file is typechecked without the DOM library).
type Notified = { title: string; body: string; tag: string; requireInteraction: boolean; actions?: { action: string }[]; data: unknown };
declare const navigator: { serviceWorker: { ready: Promise<{ getNotifications(): Promise<Notified[]> }> } };

let internet: string;
let worker: Running;
let topology: Topology;
let browser: Browser;

const base64url = (bytes: ArrayBuffer) => Buffer.from(bytes).toString("base64url");

beforeAll(async () => {
  const vapid = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair;
  ({ internet, worker } = await startService({
    VAPID_PUBLIC_KEY: base64url((await crypto.subtle.exportKey("raw", vapid.publicKey)) as ArrayBuffer),
    VAPID_PRIVATE_KEY: String(((await crypto.subtle.exportKey("jwk", vapid.privateKey)) as JsonWebKey).d),
    VAPID_SUBJECT: "mailto:ops@example.com",
  }));
  topology = buildTopology(internet, { scenario: 1, sameLan: true });
  browser = await launchIn(topology.clientA, ORIGIN, SERVICE_IP);
  await browser.context.grantPermissions(["notifications"], { origin: ORIGIN });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  topology?.teardown();
  await worker?.stop();
  deleteAll();
}, 60_000);

/** The page's service worker registration id, as DevTools knows it. */
async function registrationId(session: CDPSession): Promise<string> {
  const found = new Promise<string>((resolve) => {
    session.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const ours = registrations.find((registration) => registration.scopeURL === `${ORIGIN}/demo/` && !registration.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await session.send("ServiceWorker.enable");
  return within(found, 10_000, "the demo's service worker registration");
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The notifications the service worker shows now. */
const shown = (page: Page) =>
  page.evaluate(async () =>
    (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      requireInteraction: n.requireInteraction,
      actions: (n.actions ?? []).map((a) => a.action),
      data: n.data as Record<string, string>,
    })),
  );

/**
 * The notifications up once the service worker says it showed the `count`th push (sw.js posts
 * `push-shown` after `showNotification` resolves). Read once, not polled: Chromium's
 * `getNotifications()` drops a stored notification the platform has not displayed yet, so a read
 * while a push is being shown loses it (a 100 ms poll lost the first one in about 1 run of 4).
 */
async function shownAfterPush(page: Page, count: number): Promise<Shown[]> {
  await page.waitForFunction((n) => demo.pushesShown.length >= n, count, { timeout: 10_000, polling: 50 });
  return shown(page);
}

describe("Web Push in the demo's service worker", () => {
  it("gets the VAPID key and asks the browser to subscribe; rings on an incoming-call push until the call ends", async () => {
    const page = browser.page;
    const id = crypto.randomUUID().slice(0, 8);
    await page.goto(`${ORIGIN}/demo/`, { timeout: 15_000 });
    await page.evaluate(([user, jwt]) => demo.signIn(user!, jwt!), [`bob-${id}`, await hs256Token(JWT_SECRET, `bob-${id}`)]);
    await page.waitForFunction(() => demo.serviceWorker !== undefined, null, { timeout: 10_000, polling: 100 });
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));

    // Chromium's subscription needs Google's push service, out of this world's reach, and it
    // waits for it forever: the SDK fetched the key, handed it to the push manager, and gives up
    // after its bound with an error that says so (never a registration without a subscription).
    const keyRequest = page.waitForResponse((response) => response.url().endsWith("/v1/push/vapid-public-key"), { timeout: 10_000 });
    const outcome = await page.evaluate(() => demo.enablePush({ timeoutMs: 3_000 }).then(() => "subscribed", (error: Error) => error.message));
    expect((await (await keyRequest).json()) as { publicKey: string }).toMatchObject({ publicKey: expect.stringMatching(/^B[A-Za-z0-9_-]{86}$/) });
    expect(outcome).toBe("the browser's push service did not answer within 3 s");

    const session = await browser.context.newCDPSession(page);
    const registration = await registrationId(session);
    const at = Date.now();
    const notice = { callId: `call-${id}`, recipients: [`bob-${id}`], caller: `alice-${id}`, media: "video" as const, at, ringsUntil: at + 45_000 };
    const push = async (kind: "incoming-call" | "call-ended") =>
      session.send("ServiceWorker.deliverPushMessage", { origin: ORIGIN, registrationId: registration, data: webPushMessage(fromCallNotice({ ...notice, kind, ...(kind === "call-ended" ? { reason: "cancelled" } : {}) }), Date.now()).payload });

    expect(await shown(page)).toEqual([]);
    await push("incoming-call");
    const ringing = await shownAfterPush(page, 1);
    expect(ringing).toEqual([{
      title: "Incoming video call",
      body: `alice-${id} is calling`,
      tag: `call-${id}`,
      requireInteraction: true,
      actions: ["answer", "decline"],
      data: expect.objectContaining({ type: "incoming-call", callId: `call-${id}`, caller: `alice-${id}` }),
    }]);

    await push("call-ended");
    const ended = await shownAfterPush(page, 2);
    expect(ended).toEqual([expect.objectContaining({ title: "Call ended", tag: `call-${id}`, requireInteraction: false, data: expect.objectContaining({ type: "call-ended", reason: "cancelled" }) })]);
    expect(await page.evaluate(() => demo.pushesShown)).toEqual([
      { type: "push-shown", kind: "incoming-call", tag: `call-${id}` },
      { type: "push-shown", kind: "call-ended", tag: `call-${id}` },
    ]);
  }, 90_000);
});
