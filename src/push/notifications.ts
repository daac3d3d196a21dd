/**
 * What a call decides to tell people's devices. The call state machine produces these; a
 * {@link Notifier} delivers them. The log provider (push/log.ts) is the zero-configuration
 * implementation; FCM and APNs plug into the same interface.
 */
export type CallNotificationKind = "incoming-call" | "call-answered" | "call-ended" | "missed-call";

export interface CallNotification {
  kind: CallNotificationKind;
  callId: string;
  /** Users whose devices get it. */
  recipients: string[];
  caller: string;
  media: "audio" | "video";
  /** For call-ended: why the call ended. */
  reason?: string;
  /** For call-answered: the callee who answered (their answering device is not rung again). */
  answeredBy?: string;
  metadata?: Record<string, string | number | boolean>;
  /** Milliseconds since the epoch when the call decided it. */
  at: number;
}

/** Delivers notifications; must not throw for a delivery problem (it logs and moves on). */
export interface Notifier {
  notify(notifications: readonly CallNotification[]): Promise<void>;
}
