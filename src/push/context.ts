import { ConfigError, getConfig, type ApnsConfig, type Config, type FcmConfig } from "../platform/config";

/**
 * Sends in flight at once per invocation. A Worker invocation has at most 6 outbound connections
 * waiting for response headers; more only queue inside the runtime, so 6 is the real ceiling.
 * Throughput beyond it comes from the queue running several consumer invocations at once.
 */
export const SEND_CONCURRENCY = 6;

/** What every push step needs: the bindings, the parsed config, and the `fetch` to send with. */
export interface PushContext {
  env: Env;
  config: Config;
  fetcher: typeof fetch;
}

/** The push context of this environment: config parsed once, the global fetch. */
export function pushContext(env: Env): PushContext {
  return { env, config: getConfig(env), fetcher: (input, init) => fetch(input, init) };
}

/**
 * A provider's settings: undefined when it has no credentials (the log provider stands in), or
 * the {@link ConfigError} when they are malformed — which then fails that provider's sends and
 * nothing else.
 */
export function providerConfig(push: PushContext, provider: "fcm"): FcmConfig | undefined | ConfigError;
export function providerConfig(push: PushContext, provider: "apns"): ApnsConfig | undefined | ConfigError;
export function providerConfig(push: PushContext, provider: "fcm" | "apns"): FcmConfig | ApnsConfig | undefined | ConfigError {
  try {
    return push.config[provider];
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}
