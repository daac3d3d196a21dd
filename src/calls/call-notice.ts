import type { EndReason } from "./protocol";
import type { Media, Metadata } from "./schemas";

/**
 * What a call tells people who are not on its socket: the room decides a {@link CallNotice}
 * (machine.ts) and hands it to its Notifier (ports.ts), which the push layer implements
 * (push/queue-notifier.ts).
 */
export type CallNoticeKind = "incoming-call" | "call-answered" | "call-ended" | "missed-call";

export interface CallNotice {
  kind: CallNoticeKind;
  callId: string;
  /** Users whose devices get it. */
  recipients: string[];
  caller: string;
  media: Media;
  /** For call-ended: why the call ended. */
  reason?: EndReason;
  /** For call-answered: the callee who answered. */
  answeredBy?: string;
  metadata?: Metadata;
  /** For incoming-call: when the call stops ringing (ms); the notice is useless after it. */
  ringsUntil?: number;
  /** Milliseconds since the epoch when the call decided it. */
  at: number;
}
