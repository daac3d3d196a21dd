import { z } from "@hono/zod-openapi";
import { orAfter } from "../platform/concurrency";
import { ConfigError, tryConfig } from "../platform/config";
import { log } from "../platform/log";
import { pushApps } from "./apps";
import type { PushContext } from "./context";
import { describe } from "./outcome";
import type { Provider } from "./providers";

/**
 * `POST /v1/admin/push/check`: proves from where the Worker runs that each configured push
 * provider of every app accepts our credentials, without notifying anyone. Each provider brings its own probe
 * (fcm.ts: a fresh OAuth token and a `validate_only` message; apns.ts: a push to an all-zero
 * device token that only `400 BadDeviceToken` passes; webpush.ts: a VAPID JWT that verifies with
 * the public key browsers subscribe with); this module runs them in parallel, bounds each in
 * time, and scrubs what they report.
 */

export const ProviderCheckSchema = z
  .object({
    configured: z.boolean().openapi({ description: "Whether credentials for this provider are set; without them sends go to the log provider" }),
    ok: z.boolean().openapi({ description: "The provider accepted our credentials (always false when not configured)" }),
    latencyMs: z.number().int().nullable().openapi({ description: "Wall time of the check's requests to the provider; null when nothing was sent", example: 212 }),
    detail: z.string().openapi({ description: "What was proven, or what failed; never a secret or a token", example: "access token issued; validate_only message accepted (nothing sent)" }),
  })
  .openapi("PushProviderCheck");

export const PushCheckSchema = z
  .object({
    providers: z
      .object({ fcm: ProviderCheckSchema, apns: ProviderCheckSchema, webpush: ProviderCheckSchema })
      .openapi({ description: "The default app's FCM and APNs, and the deployment's Web Push (VAPID)" }),
    apps: z
      .record(z.string(), z.object({ fcm: ProviderCheckSchema.optional(), apns: ProviderCheckSchema.optional() }))
      .optional()
      .openapi({ description: "Each app of PUSH_APPS: the providers it declares" }),
    appsProblem: z.string().optional().openapi({ description: "Why the apps of PUSH_APPS could not be read (their devices fail until it is fixed)" }),
    ok: z.boolean().openapi({ description: "Every configured provider of every app is ok, and PUSH_APPS reads (true when none is configured)" }),
  })
  .openapi("PushCheck");

export const PushCheckQuerySchema = z.object({
  apnsEnvironment: z
    .enum(["production", "sandbox"])
    .optional()
    .openapi({ param: { name: "apnsEnvironment", in: "query" }, description: "APNs environment to probe (default production; APNS_BASE_URL, a test setting, replaces both)" }),
});

export type ProviderCheck = z.output<typeof ProviderCheckSchema>;
export type PushCheck = z.output<typeof PushCheckSchema>;

export interface PushCheckOptions {
  apnsEnvironment?: "production" | "sandbox";
  /** Bound on each provider's whole check (every request, retries and token minting included). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DETAIL_MAX = 300;

/**
 * Checks FCM and APNs in parallel.
 *
 * @example
 * const { ok, providers } = await checkPush(pushContext(env));
 */
export async function checkPush(push: PushContext, options: PushCheckOptions = {}): Promise<PushCheck> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const apnsEnvironment = options.apnsEnvironment ?? "production";
  const check = (provider: Provider) => checkProvider(provider, push, apnsEnvironment, timeoutMs);
  const declared = tryConfig(pushApps, push.env);
  const named = declared instanceof ConfigError ? [] : [...declared];
  const [fcm, apns, webpush, ...perApp] = await Promise.all([
    check(push.provider("fcm")),
    check(push.provider("apns")),
    check(push.provider("webpush")),
    ...named.map(async ([app, { declaration }]) => {
      const [appFcm, appApns] = await Promise.all([
        declaration.fcm ? check(push.provider("fcm", app)) : undefined,
        declaration.apns ? check(push.provider("apns", app)) : undefined,
      ]);
      return [app, { ...(appFcm ? { fcm: appFcm } : {}), ...(appApns ? { apns: appApns } : {}) }] as const;
    }),
  ]);
  const providers = { fcm, apns, webpush };
  const apps = Object.fromEntries(perApp);
  const appsProblem = declared instanceof ConfigError ? `provider misconfigured: check ${declared.variables.join(", ")}` : undefined;
  const all = [fcm, apns, webpush, ...Object.values(apps).flatMap((checks) => Object.values(checks))];
  const ok = !appsProblem && all.every((check) => !check.configured || check.ok);
  log(ok ? "info" : "error", "push_check", {
    ok,
    fcm: summary(fcm),
    apns: summary(apns),
    webpush: summary(webpush),
    ...(named.length > 0 ? { apps: Object.fromEntries(perApp.map(([app, checks]) => [app, Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, summary(c)]))])) } : {}),
    ...(appsProblem ? { appsProblem } : {}),
  });
  return { providers, ...(named.length > 0 ? { apps } : {}), ...(appsProblem ? { appsProblem } : {}), ok };
}

async function checkProvider(provider: Provider, push: PushContext, apnsEnvironment: "production" | "sandbox", timeoutMs: number): Promise<ProviderCheck> {
  switch (provider.mode) {
    case "log":
      return NOT_CONFIGURED;
    case "misconfigured":
      return { configured: true, ok: false, latencyMs: null, detail: provider.problem };
    case "ready":
      return bounded(push, timeoutMs, (fetcher) => provider.probe(fetcher, { apnsEnvironment }));
  }
}

const NOT_CONFIGURED: ProviderCheck = { configured: false, ok: false, latencyMs: null, detail: "not configured: sends go to the log provider" };

/**
 * Runs one provider's check with a deadline: every request it makes is aborted at `timeoutMs`,
 * and the check answers by then even if something other than `fetch` (the provider-token
 * Durable Object) hangs.
 */
async function bounded(push: PushContext, timeoutMs: number, run: (fetcher: typeof fetch) => Promise<{ ok: boolean; detail: string }>): Promise<ProviderCheck> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const fetcher: typeof fetch = (input, init) => push.fetcher(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  const started = Date.now();
  const attempt = run(fetcher).catch((error: unknown) => ({ ok: false, detail: describe(error) }));
  const result = await orAfter(attempt, timeoutMs + 100, () => ({ ok: false, detail: "no answer" }));
  const detail = !result.ok && deadline.aborted ? `timed out after ${timeoutMs} ms (${result.detail})` : result.detail;
  return { configured: true, ok: result.ok, latencyMs: Date.now() - started, detail: scrub(detail) };
}

// Provider error text is passed on for the operator; make sure no credential rides along with it.
const CREDENTIALS = [/\bey[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g, /\bya29\.[\w.-]+/g, /-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g, /\bBearer\s+\S+/gi];

/** A detail safe to show: no JWT, Google access token, PEM key or bearer value; bounded length. */
export function scrub(detail: string): string {
  const clean = CREDENTIALS.reduce((text, pattern) => text.replace(pattern, "[redacted]"), detail);
  return clean.length > DETAIL_MAX ? `${clean.slice(0, DETAIL_MAX - 1)}…` : clean;
}

const summary = (check: ProviderCheck) => (check.configured ? { ok: check.ok, latencyMs: check.latencyMs, detail: check.detail } : "not configured");
