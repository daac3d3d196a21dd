import { z } from "@hono/zod-openapi";

/**
 * What the service records about itself: one event per thing an operator counts. The features
 * build these (calls: a call's life and the clients' reports; push: every send's outcome and the
 * queue's retries and dead letters; turn: every credential issued) and hand them to
 * {@link record} (recorder.ts). Nothing secret goes in: no token, no key, no address; user ids
 * and call ids are the only identifiers, and every free-text value is reduced to a bounded label.
 */

export const CANDIDATE_TYPES = ["host", "srflx", "prflx", "relay"] as const;
export type CandidateType = (typeof CANDIDATE_TYPES)[number];

/** A region name as `TURN_POOLS` spells them (turn/config.ts). */
const Region = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "region names are lowercase letters, digits and dashes");

/**
 * What a client measured of its own call, `POST /v1/calls/{callId}/report` (calls/report.ts). The
 * SDK sends it once per `trigger` from `RTCPeerConnection.getStats()`: when the connection first
 * connects, when it fails, and at hang-up (the last word: its `outcome` is the call's verdict).
 */
export const CallReportSchema = z
  .object({
    trigger: z.enum(["connected", "failed", "hangup"]).openapi({ description: "What made the client send it: first connected, failed, or hung up" }),
    outcome: z
      .enum(["connected", "failed", "never-connected"])
      .openapi({ description: "The connection so far: it connected at least once, it failed without ever connecting, or it ended without either" }),
    timeToConnectedMs: z.number().int().min(0).max(600_000).optional().openapi({ description: "From the call's start on this client to the first `connected`", example: 840 }),
    localCandidateType: z.enum(CANDIDATE_TYPES).optional().openapi({ description: "The selected pair's local candidate type" }),
    remoteCandidateType: z.enum(CANDIDATE_TYPES).optional().openapi({ description: "The selected pair's remote candidate type" }),
    protocol: z.enum(["udp", "tcp", "tls"]).optional().openapi({ description: "How the media travels from this client: the relay protocol over TURN, else the candidate's" }),
    relayProtocol: z.enum(["udp", "tcp", "tls"]).optional().openapi({ description: "The local relay candidate's protocol to the TURN server (relay only)" }),
    region: Region.optional().openapi({ description: "The region of the ICE list the client was given (its primary pool)", example: "eu" }),
    relayUrl: z
      .string()
      .max(256)
      .regex(/^turns?:[^\s]+$/, "a TURN URL from the ICE servers the client was given")
      .optional()
      .openapi({
        description: "The TURN URL of the selected relay candidate (its `url` in getStats): the service records the region of the pool that has it, never the URL",
        example: "turn:turn-eu1.example.com:3478?transport=udp",
      }),
    roundTripTimeMs: z.number().min(0).max(60_000).optional().openapi({ description: "The selected pair's current round-trip time", example: 42 }),
    packetsLost: z.number().int().min(0).max(1_000_000_000).optional().openapi({ description: "Inbound RTP packets lost, all streams", example: 3 }),
    iceRestarts: z.number().int().min(0).max(1000).optional().openapi({ description: "ICE restarts this client made in the call", example: 0 }),
  })
  .strict()
  .openapi("CallReport");
export type CallReport = z.output<typeof CallReportSchema>;

/** How a push attempt ended, as an operator counts it. */
export type PushResult = "delivered" | "retried" | "dead-token-removed" | "failed";

/** One event; `at` is when it happened (ms since the epoch), else when it was recorded. */
export type MetricEvent = (
  | { type: "call"; phase: "placed"; callees: number; media: string }
  | { type: "call"; phase: "answered"; ringMs: number }
  | { type: "call"; phase: "missed" }
  /** `durationMs` counts from the answer; 0 for a call never answered. */
  | { type: "call"; phase: "ended"; reason: string; durationMs: number; answered: boolean }
  /** A client's report as recorded: the relay URL replaced by its pool's region. */
  | ({ type: "call-report"; callId: string; userId: string; relayRegion?: string } & Omit<CallReport, "relayUrl">)
  | { type: "push"; provider: string; kind: string; target: "device" | "topic"; result: PushResult; reason?: string; latencyMs: number }
  | { type: "turn-credential"; region: string; userId: string }
  | { type: "queue"; action: "retry" | "dead-letter"; job: string; kind?: string }
) & { at?: number };

/**
 * A value as a bounded label: letters, digits and `_.:-` only, at most `max` characters. Used on
 * everything that reaches a counter or a data point, so nothing a client or a provider wrote can
 * inject text, or grow the number of distinct labels without bound.
 *
 * @example
 * label("INVALID_ARGUMENT: The registration token is not valid"); // "INVALID_ARGUMENT_The_registrati"
 */
export function label(value: string | undefined, max = 32): string {
  const clean = (value ?? "").replace(/[^A-Za-z0-9_.:-]+/g, "_").slice(0, max);
  return clean === "" ? "unknown" : clean;
}

/**
 * The code of a provider's or our own failure reason: what comes before the first colon
 * ("INVALID_ARGUMENT: …" → "INVALID_ARGUMENT", "network: …" → "network"), as a label.
 */
export const reasonCode = (reason: string | undefined): string => (reason === undefined ? "none" : label(reason.split(":")[0]!.trim(), 40));

/**
 * The path the media takes from this client, to compare with published splits (direct,
 * TURN/UDP, TURN/TCP, TURN/TLS): `turn-peer` when only the other side relays.
 */
export type MediaPath = "direct" | "turn-udp" | "turn-tcp" | "turn-tls" | "turn-peer" | "unknown";

export function mediaPath(report: Pick<CallReport, "localCandidateType" | "remoteCandidateType" | "relayProtocol">): MediaPath {
  if (report.localCandidateType === "relay") return report.relayProtocol ? `turn-${report.relayProtocol}` : "unknown";
  if (report.remoteCandidateType === "relay") return "turn-peer";
  return report.localCandidateType && report.remoteCandidateType ? "direct" : "unknown";
}
