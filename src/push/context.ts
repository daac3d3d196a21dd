import { DEFAULT_APP } from "../devices/device";
import { apnsLogProvider, apnsProvider } from "./apns";
import { apnsCredentials, fcmCredentials } from "./apps";
import { tryConfig } from "../platform/config";
import { webPushConfig } from "./config";
import { fcmLogProvider, fcmProvider } from "./fcm";
import { resolveProvider, type Provider, type ProviderName } from "./providers";
import { webPushLogProvider, webPushProvider } from "./webpush";

/**
 * Sends in flight at once per invocation. A Worker invocation has at most 6 outbound connections
 * waiting for response headers; more only queue inside the runtime, so 6 is the real ceiling.
 * Throughput beyond it comes from the queue running several consumer invocations at once.
 */
export const SEND_CONCURRENCY = 6;

/** What every push step needs: the bindings, the `fetch` to send with, and the providers. */
export interface PushContext {
  env: Env;
  fetcher: typeof fetch;
  /** The provider serving `name` for `app` (default: the default app): resolved on first use, then the same for this context. */
  provider(name: ProviderName, app?: string): Provider;
}

/**
 * The push context of one invocation (a request, a queue batch): its providers are resolved once
 * per app and provider, each from its own credentials (apps.ts), so a malformed APNs key fails
 * that app's APNs devices and nothing else.
 *
 * @example
 * const result = await deliverToDevice(pushContext(env), notification, device);
 */
export function pushContext(env: Env, fetcher: typeof fetch = (input, init) => fetch(input, init)): PushContext {
  const resolved = new Map<string, Provider>();
  const resolve = (name: ProviderName, app: string): Provider => {
    switch (name) {
      case "fcm":
        return resolveProvider(name, fcmCredentials(env, app), (fcm) => fcmProvider(fcm, fetcher), fcmLogProvider);
      case "apns":
        return resolveProvider(name, apnsCredentials(env, app), (apns) => apnsProvider(env, app, apns, fetcher), apnsLogProvider);
      case "webpush":
        // One VAPID key pair for the deployment: the application server browsers subscribed to.
        return resolveProvider(name, tryConfig(webPushConfig, env), (vapid) => webPushProvider(vapid, fetcher), webPushLogProvider);
    }
  };
  return {
    env,
    fetcher,
    provider(name, app = DEFAULT_APP) {
      const key = name === "webpush" ? name : `${name} ${app}`;
      let provider = resolved.get(key);
      if (!provider) {
        provider = resolve(name, app);
        resolved.set(key, provider);
      }
      return provider;
    },
  };
}
