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
import { describe, expect, it } from "vitest";
import type { CallUpdate, IncomingCall } from "../../src/calls/line-protocol";
import { serviceForFile, signInToDemo, withAliceAndBob } from "./support/world";

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

const service = serviceForFile();

const prompt = (page: Page, callId: string) => page.locator(`#ringing .ring[data-call-id="${callId}"]`);
const connected = () => demo.call?.pc.connectionState === "connected";

describe("incoming calls on the user's line", () => {
  it("rings every tab of the callee; answering in one stops the others ringing and connects the call", async () => {
    const id = crypto.randomUUID().slice(0, 8);
    const [alice, bob] = [`alice-${id}`, `bob-${id}`];
    await withAliceAndBob(service.internet, 1, async (world) => {
      const { alice: a, tab1, tab2 } = world;
      await Promise.all([signInToDemo(a, alice), signInToDemo(tab1, bob), signInToDemo(tab2, bob)]);

      // Tab 2's line drops (an abnormal close); the SDK opens it again and is welcomed anew.
      await tab2.evaluate(() => demo.line!.ws!.close(4000, "test: dropped"));
      const reopened = () => demo.events.filter((event) => / line open$/.test(event)).length >= 2;
      await tab2.waitForFunction(reopened, null, { timeout: 10_000, polling: 100 });

      const callId = await a.evaluate((callee) => demo.startCall(callee), bob);
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

      await Promise.all([a, tab1].map((page) => page.waitForFunction(connected, null, { timeout: 20_000, polling: 100 })));
      expect(await tab1.evaluate(() => demo.call!.callId)).toBe(callId);
      await prompt(tab1, callId).waitFor({ state: "detached", timeout: 5_000 });
    });
  }, 90_000);
});
