import type { TestProject } from "vitest/node";
import { startFakeCloudflareTurn } from "./fake-cloudflare-turn";
import { startFakePush } from "./fake-push";

/**
 * Global setup of the Workers project: the fake FCM, Google OAuth and APNs (fake-push.ts), and
 * the fake Cloudflare Realtime TURN API (fake-cloudflare-turn.ts).
 */
export default async function setup(project: TestProject) {
  const [fake, turn] = await Promise.all([startFakePush(), startFakeCloudflareTurn()]);
  project.provide("pushFake", JSON.stringify({ ...fake, close: undefined }));
  project.provide("turnApiFake", JSON.stringify({ url: turn.url, apiToken: turn.apiToken }));
  return async () => {
    await Promise.all([fake.close(), turn.close()]);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    pushFake: string;
    turnApiFake: string;
  }
}
