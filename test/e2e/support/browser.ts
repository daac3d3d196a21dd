import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/**
 * Headless Chromium (Debian's) started *inside* a test namespace through an executable shim, so
 * nothing it sends can reach a real interface. Playwright drives it over the CDP pipe (stdio),
 * which crosses the namespace boundary. Belt and braces: the resolver maps every name to
 * NOTFOUND, and mDNS candidate hiding is off (it joins a multicast group otherwise).
 */
export interface Browser {
  context: BrowserContext;
  page: Page;
  close: () => Promise<void>;
}

/**
 * `serviceIps` are the addresses the page may reach over TCP (the resolver rule would refuse them
 * otherwise): the service, and any TURN server used over TCP or TLS. `extraArgs` are added to
 * the launch flags (a test that trusts its own certificate).
 */
export async function launchIn(ns: string, origin: string, serviceIps: string | string[], extraArgs: string[] = []): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), "sce-chromium-"));
  const shim = join(dir, "chromium");
  writeFileSync(shim, `#!/bin/sh\nexec ip netns exec ${ns} /usr/bin/chromium "$@"\n`);
  chmodSync(shim, 0o755);
  const context = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: shim,
    headless: true,
    timeout: 30_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      // IP literals on TCP go through the resolver too: let the service's address through.
      `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, ${[serviceIps].flat().map((ip) => `EXCLUDE ${ip}`).join(", ")}`,
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      // getUserMedia needs a secure context; the demo is served over plain HTTP in the test world.
      `--unsafely-treat-insecure-origin-as-secure=${origin}`,
      ...extraArgs,
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      // Closing the peer connection first lets Chromium release its TURN allocation.
      await page.evaluate(() => (globalThis as unknown as { demo?: { call?: { close(): void } } }).demo?.call?.close()).catch(() => undefined);
      await context.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
