import { z } from "zod";
import type { CallNotice, CallNoticeKind } from "../calls/call-notice";

/**
 * What people's devices are told, provider-neutral: a call's notice (calls/call-notice.ts) or a
 * custom or silent notification from the push API. payloads.ts turns one into an FCM message or
 * an APNs request per device; queue jobs carry it as is.
 */
export const NotificationSchema = z.object({
  /** Random id, for logs and tracing a notification through retries. */
  id: z.string(),
  kind: z.enum(["incoming-call", "call-answered", "call-ended", "missed-call", "custom", "silent"]),
  createdAt: z.number(),
  /** After this instant (ms) the notification is neither sent nor retried. */
  expiresAt: z.number(),
  call: z
    .object({
      callId: z.string(),
      caller: z.string(),
      media: z.enum(["audio", "video"]),
      reason: z.string().optional(),
      answeredBy: z.string().optional(),
      metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    })
    .optional(),
  content: z
    .object({
      title: z.string().optional(),
      body: z.string().optional(),
      data: z.record(z.string(), z.string()).optional(),
      priority: z.enum(["high", "normal"]),
      collapseKey: z.string().optional(),
    })
    .optional(),
});

export type PushNotification = z.output<typeof NotificationSchema>;
export type PushKind = PushNotification["kind"];

// How long each kind is worth delivering when the call does not say.
const LIFETIME_MS: Record<CallNoticeKind, number> = {
  "incoming-call": 45_000,
  "call-answered": 60_000,
  "call-ended": 60_000,
  "missed-call": 24 * 3600_000,
};

/** The provider-neutral form of a call's notice. */
export function fromCallNotice(notice: CallNotice): PushNotification {
  const { kind, callId, caller, media, reason, answeredBy, metadata, at } = notice;
  return {
    id: crypto.randomUUID(),
    kind,
    createdAt: at,
    expiresAt: kind === "incoming-call" && notice.ringsUntil ? notice.ringsUntil : at + LIFETIME_MS[kind],
    call: { callId, caller, media, ...(reason ? { reason } : {}), ...(answeredBy ? { answeredBy } : {}), ...(metadata ? { metadata } : {}) },
  };
}
