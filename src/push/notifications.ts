/**
 * What people's devices are told. Calls decide {@link CallNotification}s (machine.ts); the
 * push API sends custom and silent ones. Both become a provider-neutral {@link PushNotification}
 * that messages.ts turns into an FCM message or an APNs request per device.
 */
export type CallNotificationKind = "incoming-call" | "call-answered" | "call-ended" | "missed-call";
export type PushKind = CallNotificationKind | "custom" | "silent";

export interface CallNotification {
  kind: CallNotificationKind;
  callId: string;
  /** Users whose devices get it. */
  recipients: string[];
  caller: string;
  media: "audio" | "video";
  /** For call-ended: why the call ended. */
  reason?: string;
  /** For call-answered: the callee who answered. */
  answeredBy?: string;
  metadata?: Record<string, string | number | boolean>;
  /** For incoming-call: when the call stops ringing (ms); the push is useless after it. */
  ringsUntil?: number;
  /** Milliseconds since the epoch when the call decided it. */
  at: number;
}

/** Delivers call notifications; must not throw for a delivery problem. */
export interface Notifier {
  notify(notifications: readonly CallNotification[]): Promise<void>;
}

export interface PushNotification {
  /** Random id, for logs and APNs' `apns-id`-style tracing. */
  id: string;
  kind: PushKind;
  createdAt: number;
  /** After this instant (ms) the notification is neither sent nor retried. */
  expiresAt: number;
  call?: Pick<CallNotification, "callId" | "caller" | "media" | "reason" | "answeredBy" | "metadata">;
  content?: {
    title?: string;
    body?: string;
    data?: Record<string, string>;
    priority: "high" | "normal";
    collapseKey?: string;
  };
}

// How long each kind is worth delivering when the call does not say.
const LIFETIME_MS: Record<CallNotificationKind, number> = {
  "incoming-call": 45_000,
  "call-answered": 60_000,
  "call-ended": 60_000,
  "missed-call": 24 * 3600_000,
};

/** The provider-neutral form of a call's notification. */
export function fromCallNotification(notification: CallNotification): PushNotification {
  const { kind, callId, caller, media, reason, answeredBy, metadata, at } = notification;
  return {
    id: crypto.randomUUID(),
    kind,
    createdAt: at,
    expiresAt: kind === "incoming-call" && notification.ringsUntil ? notification.ringsUntil : at + LIFETIME_MS[kind],
    call: { callId, caller, media, ...(reason ? { reason } : {}), ...(answeredBy ? { answeredBy } : {}), ...(metadata ? { metadata } : {}) },
  };
}
