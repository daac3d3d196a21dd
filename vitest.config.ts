import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
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
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...TEST_ENV,
                TEST_JWKS_URL: inject<string>("jwksUrl"),
                TEST_JWKS_KEYS: inject<string>("jwksPrivateKeys"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**"],
          globalSetup: ["test/support/jwks-server.ts"],
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
