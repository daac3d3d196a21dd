import { redact, type Device } from "../devices/device";
import { ConfigError } from "../platform/config";
import { log } from "../platform/log";
import type { DeliveryOutcome } from "./outcome";
import { PayloadTooLarge } from "./payloads";
import type { PushNotification } from "./push-notification";

/** The push services a device can be registered with. */
export type ProviderName = Device["provider"];

/** One attempt's outcome, with the token it addressed (a VoIP push addresses the VoIP token). */
export type ProviderResult = DeliveryOutcome & { token: string };

/**
 * What the push check proves for a provider, given a `fetch` that the check bounds in time:
 * `ok`, and what was proven or what failed (check.ts scrubs and shortens it).
 */
export type ProviderProbe = (fetcher: typeof fetch, options: { apnsEnvironment: "production" | "sandbox" }) => Promise<{ ok: boolean; detail: string }>;

export interface TopicChangeResult {
  ok: boolean;
  reason?: string;
  transient?: boolean;
}

/** A provider's topics (FCM only): one message reaches every subscribed token. */
export interface ProviderTopics {
  send(notification: PushNotification, topic: string): Promise<DeliveryOutcome>;
  /** Adds or removes tokens; one result per token, in order (`transient`: worth trying again later). */
  change(topic: string, tokens: string[], action: "add" | "remove"): Promise<TopicChangeResult[]>;
}

interface ProviderBase {
  readonly name: ProviderName;
  /** One attempt to one device; never throws for a delivery problem. */
  send(notification: PushNotification, device: Device): Promise<ProviderResult>;
  /** Topics at the provider itself, when it has them and is configured (or misconfigured). */
  readonly topics?: ProviderTopics;
}

/**
 * One push provider as this deployment has it, resolved once per push context:
 * - `ready`: credentials set; sends go to the provider; `probe` is the push check's;
 * - `log`: no credentials set; each send is one structured log line (the zero-configuration mode);
 * - `misconfigured`: credentials set but malformed; every send fails with `problem`, which names
 *   the variables to check (never their values).
 */
export type Provider =
  | (ProviderBase & { readonly mode: "ready"; readonly probe: ProviderProbe })
  | (ProviderBase & { readonly mode: "log" })
  | (ProviderBase & { readonly mode: "misconfigured"; readonly problem: string });

/**
 * The provider for `name`: `ready` from its config, `log` when it has none, `misconfigured` when
 * reading its config section threw a {@link ConfigError}.
 */
export function resolveProvider<C>(name: ProviderName, config: C | undefined | ConfigError, ready: (config: C) => Provider, unconfigured: () => Provider): Provider {
  if (config instanceof ConfigError) return misconfiguredProvider(name, config);
  return config === undefined ? unconfigured() : ready(config);
}

/**
 * Sends as structured log lines: the mode of a provider without credentials (zero
 * configuration). `payload` builds what the real provider would be sent, so the same size limits
 * apply, and names the token it would address.
 */
export function logProvider(name: ProviderName, payload: (notification: PushNotification, device: Device) => { token: string }): Provider {
  return {
    name,
    mode: "log",
    async send(notification, device) {
      const built = buildPayload(() => payload(notification, device), device.token);
      if ("status" in built) return built;
      const { token } = built;
      log("info", "notification", {
        provider: "log",
        kind: notification.kind,
        notificationId: notification.id,
        ...(notification.call ? { callId: notification.call.callId, caller: notification.call.caller } : {}),
        userId: device.userId,
        deviceId: device.deviceId,
        platform: device.platform,
        token: redact(token),
      });
      return { status: "delivered", token };
    },
  };
}

function misconfiguredProvider(name: ProviderName, error: ConfigError): Provider {
  const problem = `provider misconfigured: check ${error.variables.join(", ")}`;
  // Said once per context (a batch, a request), not once per device.
  log("error", "config_invalid", { problems: error.problems });
  const failed = { status: "failed" as const, reason: problem };
  return {
    name,
    mode: "misconfigured",
    problem,
    send: async (_notification, device) => ({ ...failed, token: device.token }),
    ...(name === "fcm" ? { topics: { send: async () => failed, change: async (_topic, tokens) => tokens.map(() => ({ ok: false, reason: problem })) } } : {}),
  };
}

/**
 * A provider payload, or the failed result of one over the provider's size limit: such a push can
 * never be delivered, so it is not retried.
 */
export function buildPayload<P>(build: () => P, token: string): P | ProviderResult {
  try {
    return build();
  } catch (error) {
    if (error instanceof PayloadTooLarge) return { status: "failed", reason: error.message, token };
    throw error;
  }
}
