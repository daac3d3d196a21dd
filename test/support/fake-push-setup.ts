import type { TestProject } from "vitest/node";
import { startFakePush } from "./fake-push";

/** Global setup of the Workers project: the fake FCM, Google OAuth and APNs (fake-push.ts). */
export default async function setup(project: TestProject) {
  const fake = await startFakePush();
  project.provide("pushFake", JSON.stringify({ ...fake, close: undefined }));
  return fake.close;
}

declare module "vitest" {
  export interface ProvidedContext {
    pushFake: string;
  }
}
