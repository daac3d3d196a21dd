import type { Browser } from "./browser";

/**
 * A call between two browsers through the demo page (client/public/demo), and what the tests
 * read back from each page: connection state, decoded frames, the selected candidate pair.
 * Shared by the browser suites; every wait is bounded.
 */
export type Demo = {
  signIn(userId: string, token: string): Promise<void>;
  startCall(callee: string): Promise<string>;
  join(callId: string): Promise<void>;
  call?: {
    accept(): void;
    // The DOM's RTCPeerConnection, as much of it as the tests read (the test project has no DOM types).
    pc: {
      connectionState: string;
      localDescription: { sdp: string } | null;
      getConfiguration(): { iceServers?: { urls?: string | string[]; username?: string }[] };
      getStats(): Promise<Map<string, Record<string, unknown>>>;
    };
  };
  errors: { code: string; message: string }[];
  events: string[];
  stats(): Promise<{ connection: string; framesDecoded: number; pair?: { local: { type: string; protocol: string; relayProtocol?: string }; remote: { type: string } } }>;
};
declare const demo: Demo;

export type Stats = Awaited<ReturnType<Demo["stats"]>>;

export interface CallOutcome {
  setupMs: number;
  a: Stats;
  b: Stats;
}

/** Where the demo is served and how a user gets a token for it. */
export interface Service {
  origin: string;
  token: (userId: string) => Promise<string>;
}

/** Both pages on the demo, signed in as `alice-<tag>` and `bob-<tag>`. */
export async function signInBoth(service: Service, a: Browser, b: Browser, tag: string): Promise<[string, string]> {
  const [alice, bob] = [`alice-${tag}`, `bob-${tag}`];
  await Promise.all([a.page.goto(`${service.origin}/demo/`, { timeout: 15_000 }), b.page.goto(`${service.origin}/demo/`, { timeout: 15_000 })]);
  await a.page.evaluate(([user, jwt]) => demo.signIn(user!, jwt!), [alice, await service.token(alice)]);
  await b.page.evaluate(([user, jwt]) => demo.signIn(user!, jwt!), [bob, await service.token(bob)]);
  return [alice, bob];
}

/** Alice calls Bob; resolves once both are connected and decoding video. */
export async function call(service: Service, a: Browser, b: Browser, tag: string): Promise<CallOutcome> {
  const [, bob] = await signInBoth(service, a, b, tag);
  const started = Date.now();
  const callId = await a.page.evaluate((callee) => demo.startCall(callee), bob);
  await b.page.evaluate((id) => demo.join(id), callId);
  await b.page.evaluate(() => demo.call!.accept());
  await bothConnected(a, b, 20_000, 250);
  const setupMs = Date.now() - started;
  const decoding = async () => (await demo.stats()).framesDecoded > 0;
  await Promise.all([a.page.waitForFunction(decoding, null, { timeout: 15_000, polling: 250 }), b.page.waitForFunction(decoding, null, { timeout: 15_000, polling: 250 })]);
  return { setupMs, ...(await statsOf(a, b)) };
}

/** Waits, at most `timeout` ms, until both peer connections are `connected` (checked every `polling` ms). */
export async function bothConnected(a: Browser, b: Browser, timeout: number, polling = 100) {
  const connected = () => demo.call?.pc.connectionState === "connected";
  await Promise.all([a, b].map((side) => side.page.waitForFunction(connected, null, { timeout, polling })));
}

export const statsOf = async (a: Browser, b: Browser) => ({ a: await a.page.evaluate(() => demo.stats()), b: await b.page.evaluate(() => demo.stats()) });

/** Video frames `side` has decoded so far. */
export const framesDecoded = async (side: Browser) => (await side.page.evaluate(() => demo.stats())).framesDecoded;

/** Waits (bounded) until `side` has decoded more than 10 frames beyond `since`: media flows. */
export async function decodesBeyond(side: Browser, since: number) {
  await side.page.waitForFunction((n) => demo.stats().then((stats) => stats.framesDecoded > n + 10), since, { timeout: 15_000, polling: 250 });
}

export const describePair = (outcome: Pick<CallOutcome, "a" | "b">) => {
  const side = (s: Stats) => `${s.pair?.local.type}/${s.pair?.local.relayProtocol ?? s.pair?.local.protocol} → ${s.pair?.remote.type}`;
  return `A ${side(outcome.a)}; B ${side(outcome.b)}`;
};

/** What each page saw, to tell a negotiation problem from a network one. */
export async function dumpEvents(name: string, browsers: Browser[]) {
  for (const [side, browser] of browsers.entries()) {
    const events = await browser.page.evaluate(() => (globalThis as unknown as { demo?: { events: string[] } }).demo?.events ?? []).catch(() => []);
    console.error(`${name}, browser ${side === 0 ? "A" : "B"}:\n  ${events.join("\n  ")}`);
  }
}
