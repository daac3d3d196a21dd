import type { MetricEvent, PushResult } from "../metrics/events";
import type { DeliveryOutcome } from "./outcome";
import type { PushNotification } from "./push-notification";

const RESULT: Record<DeliveryOutcome["status"], PushResult> = {
  delivered: "delivered",
  retry: "retried",
  dead: "dead-token-removed",
  // A credential refused again after its one renewal (fcm.ts, apns.ts) is this send's failure.
  reauth: "failed",
  failed: "failed",
};

/** One send's outcome as the push event the operator counts (metrics/events.ts). */
export function pushOutcomeEvent(outcome: DeliveryOutcome & { provider: string }, notification: PushNotification, target: "device" | "topic", latencyMs: number): MetricEvent {
  return {
    type: "push",
    provider: outcome.provider,
    kind: notification.kind,
    target,
    result: RESULT[outcome.status],
    ...(outcome.status === "delivered" ? {} : { reason: outcome.reason }),
    latencyMs,
  };
}
