import { tryConfig } from "../platform/config";
import { apnsLogProvider, apnsProvider } from "./apns";
import { apnsConfig, fcmConfig } from "./config";
import { fcmLogProvider, fcmProvider } from "./fcm";
import { resolveProvider, type Provider, type ProviderName } from "./providers";

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
  /** The provider serving `name` here: resolved on first use, then the same for this context. */
  provider(name: ProviderName): Provider;
}

/**
 * The push context of one invocation (a request, a queue batch): its providers are resolved once,
 * each from its own config section, so a malformed APNs key fails APNs devices and nothing else.
 *
 * @example
 * const result = await deliverToDevice(pushContext(env), notification, device);
 */
export function pushContext(env: Env, fetcher: typeof fetch = (input, init) => fetch(input, init)): PushContext {
  const resolved = new Map<ProviderName, Provider>();
  const resolve = (name: ProviderName): Provider =>
    name === "fcm"
      ? resolveProvider(name, tryConfig(fcmConfig, env), (fcm) => fcmProvider(fcm, fetcher), fcmLogProvider)
      : resolveProvider(name, tryConfig(apnsConfig, env), (apns) => apnsProvider(env, apns, fetcher), apnsLogProvider);
  return {
    env,
    fetcher,
    provider(name) {
      let provider = resolved.get(name);
      if (!provider) {
        provider = resolve(name);
        resolved.set(name, provider);
      }
      return provider;
    },
  };
}
