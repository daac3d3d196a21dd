import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { testsWithoutTools } from "./scripts/test-tools.mjs";
import { TEST_ENV } from "./test/support/env.ts";

/**
 * Two projects, one `npm test`:
 * - `workers`: the Worker's code in workerd (real Durable Objects, KV, WebSockets).
 * - `node`: tests that spawn real processes (wrangler dev, coturn), which workerd cannot.
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const fake = JSON.parse(inject<string>("pushFake")) as Record<string, string> & { secondApp: Record<string, string>; vapid: Record<string, string> };
            const turnApi = JSON.parse(inject<string>("turnApiFake")) as { url: string; apiToken: string };
            return {
              wrangler: { configPath: "./wrangler.toml" },
              // src/index.ts, with call rooms that also record their notices (see the file).
              main: "./test/support/worker.ts",
              miniflare: {
                bindings: {
                  ...TEST_ENV,
                  TEST_JWKS_URL: inject<string>("jwksUrl"),
                  TEST_JWKS_KEYS: inject<string>("jwksPrivateKeys"),
                  // Push providers are the fakes of test/support/fake-push.ts.
                  TEST_PUSH_FAKE_URL: fake.url!,
                  // The fake alert webhook (test/support/fake-webhook.ts); tests post to their own path.
                  TEST_WEBHOOK_URL: inject<string>("webhookUrl"),
                  FCM_SERVICE_ACCOUNT: fake.serviceAccount!,
                  GOOGLE_TOKEN_URL: `${fake.url}/token`,
                  FCM_BASE_URL: fake.url!,
                  FCM_IID_URL: fake.url!,
                  APNS_KEY: fake.apnsKey!,
                  APNS_KEY_ID: fake.apnsKeyId!,
                  APNS_TEAM_ID: fake.apnsTeamId!,
                  APNS_BUNDLE_ID: fake.bundleId!,
                  APNS_BASE_URL: fake.url!,
                  // Tests that configure a managed TURN pool reach the fake of test/support/fake-cloudflare-turn.ts.
                  TEST_TURN_API_URL: turnApi.url,
                  TEST_TURN_API_TOKEN: turnApi.apiToken,
                  // Web Push: the fake push service's subscriptions (push.example.test), sent to the fake.
                  VAPID_PUBLIC_KEY: fake.vapid.publicKey!,
                  VAPID_PRIVATE_KEY: fake.vapid.privateKey!,
                  VAPID_SUBJECT: "mailto:ops@example.com",
                  WEBPUSH_BASE_URL: `${fake.url}/webpush`,
                  WEBPUSH_PUSH_SERVICES: "push.example.test",
                  // A second app with its own Firebase project and APNs key (test/push/apps.test.ts).
                  PUSH_APPS: fake.secondApp.pushApps!,
                  [fake.secondApp.keysVariable!]: fake.secondApp.keys!,
                },
              },
            };
          }),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**", "test/client/**", "test/e2e/**"],
          globalSetup: ["test/support/jwks-server.ts", "test/support/fake-push-setup.ts", "test/support/fake-webhook.ts"],
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts", "test/client/**/*.test.ts"],
          // On a developer's machine without coturn, Terraform or docker-compose, the files that
          // run them are left out (npm test's pre-step says so); in CI they always run.
          exclude: testsWithoutTools(),
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        test: {
          // Browsers in network namespaces: needs root, chromium, coturn (npm run test:e2e).
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 90_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
