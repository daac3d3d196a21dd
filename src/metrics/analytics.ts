import { label, mediaPath, reasonCode, type MetricEvent } from "./events";

/**
 * One Workers Analytics Engine data point per event (binding `METRICS`, docs/observability.md
 * lists the columns and the SQL). `index1` is the event type, so each type is sampled on its own
 * and every query reads one index; `blob1` repeats it for readability. A number not measured is
 * written as -1, so queries can tell it from a measured 0.
 */
export function dataPoint(event: MetricEvent): AnalyticsEngineDataPoint {
  const point = (blobs: string[], doubles: number[] = []): AnalyticsEngineDataPoint => ({ indexes: [event.type], blobs: [event.type, ...blobs], doubles });
  switch (event.type) {
    case "call":
      return point(...callColumns(event));
    case "call-report":
      return point(
        [
          event.trigger,
          event.outcome,
          label(event.region),
          label(event.relayRegion),
          label(event.localCandidateType),
          label(event.remoteCandidateType),
          label(event.protocol),
          label(event.relayProtocol),
          mediaPath(event),
          event.callId,
          event.userId,
        ],
        [measured(event.timeToConnectedMs), measured(event.roundTripTimeMs), measured(event.packetsLost), measured(event.iceRestarts)],
      );
    case "push":
      return point([label(event.provider), label(event.kind), event.result, event.result === "delivered" ? "" : reasonCode(event.reason), event.target], [event.latencyMs]);
    case "turn-credential":
      return point([label(event.region), event.userId]);
    case "queue":
      return point([event.action, label(event.job), label(event.kind)]);
  }
}

/** A call event's blobs (after the type) and doubles: phase, reason, media or answered; duration, callees, ring time. */
function callColumns(event: Extract<MetricEvent, { type: "call" }>): [string[], number[]] {
  switch (event.phase) {
    case "placed":
      return [["placed", "", label(event.media)], [-1, event.callees, -1]];
    case "answered":
      return [["answered", "", ""], [-1, -1, event.ringMs]];
    case "missed":
      return [["missed", "missed", ""], [-1, -1, -1]];
    case "ended":
      return [["ended", label(event.reason), event.answered ? "answered" : "unanswered"], [event.durationMs, -1, -1]];
  }
}

const measured = (value: number | undefined) => value ?? -1;
