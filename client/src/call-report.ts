import type { CallReport } from "./protocol.js";

export type { CallReport };

/** One entry of an `RTCStatsReport`, as plain data (what `getStats()` yields). */
export type StatsEntry = { id: string; type: string } & Record<string, unknown>;

export type ReportTrigger = CallReport["trigger"];

const CANDIDATE_TYPES: ReadonlySet<NonNullable<CallReport["localCandidateType"]>> = new Set(["host", "srflx", "prflx", "relay"]);
const PROTOCOLS: ReadonlySet<NonNullable<CallReport["protocol"]>> = new Set(["udp", "tcp", "tls"]);

/** What the call knows beyond its stats: when it started and connected, what it went through. */
export interface ReportContext {
  trigger: ReportTrigger;
  /** It reached `connected` at least once. */
  connected: boolean;
  /** It reached `failed` (before connecting, for the verdict). */
  failed: boolean;
  /** The region of the ICE list the client was given. */
  region?: string;
  /** When the call became active here (the answer), and when it first connected (ms). */
  activeAt?: number;
  connectedAt?: number;
  iceRestarts: number;
}

/**
 * The report a client sends (`POST /v1/calls/{callId}/report`) from its `getStats()`: the
 * selected candidate pair (its transport's `selectedCandidatePairId`, else the nominated
 * succeeded pair) gives the candidate types, protocols, the relay's TURN URL and the RTT;
 * inbound RTP streams give the packets lost. Anything missing or unknown is left out.
 *
 * @example
 * callReport([...(await pc.getStats()).values()], { trigger: "connected", connected: true, failed: false, iceRestarts: 0 });
 */
export function callReport(stats: readonly StatsEntry[], context: ReportContext): CallReport {
  const byId = new Map(stats.map((entry) => [entry.id, entry]));
  const pair = selectedPair(stats);
  const local = pair && typeof pair.localCandidateId === "string" ? byId.get(pair.localCandidateId) : undefined;
  const remote = pair && typeof pair.remoteCandidateId === "string" ? byId.get(pair.remoteCandidateId) : undefined;
  const localType = oneOf(local?.candidateType, CANDIDATE_TYPES);
  const remoteType = oneOf(remote?.candidateType, CANDIDATE_TYPES);
  const relayed = localType === "relay";
  const relayProtocol = relayed ? oneOf(local?.relayProtocol, PROTOCOLS) : undefined;
  // Over TURN the media leaves this client by the relay protocol; otherwise by the candidate's.
  const protocol = relayed ? relayProtocol : oneOf(local?.protocol, PROTOCOLS);
  const rtt = typeof pair?.currentRoundTripTime === "number" ? Math.round(pair.currentRoundTripTime * 1000 * 10) / 10 : undefined;
  const lost = stats.filter((entry) => entry.type === "inbound-rtp" && typeof entry.packetsLost === "number").reduce((sum, entry) => sum + Math.max(0, entry.packetsLost as number), 0);
  const hasInbound = stats.some((entry) => entry.type === "inbound-rtp");
  const relayUrl = relayed && typeof local?.url === "string" && /^turns?:\S+$/.test(local.url) && local.url.length <= 256 ? local.url : undefined;
  const { activeAt, connectedAt } = context;
  return {
    trigger: context.trigger,
    outcome: context.connected ? "connected" : context.failed ? "failed" : "never-connected",
    ...(activeAt !== undefined && connectedAt !== undefined ? { timeToConnectedMs: Math.min(600_000, Math.max(0, Math.round(connectedAt - activeAt))) } : {}),
    ...(localType ? { localCandidateType: localType } : {}),
    ...(remoteType ? { remoteCandidateType: remoteType } : {}),
    ...(protocol ? { protocol } : {}),
    ...(relayProtocol ? { relayProtocol } : {}),
    ...(context.region && /^[a-z0-9][a-z0-9-]{0,31}$/.test(context.region) ? { region: context.region } : {}),
    ...(relayUrl ? { relayUrl } : {}),
    ...(rtt !== undefined && rtt >= 0 && rtt <= 60_000 ? { roundTripTimeMs: rtt } : {}),
    ...(hasInbound ? { packetsLost: Math.min(1_000_000_000, lost) } : {}),
    iceRestarts: Math.min(1000, context.iceRestarts),
  };
}

/** The selected candidate pair: the transport's `selectedCandidatePairId`, else the nominated succeeded pair. */
function selectedPair(stats: readonly StatsEntry[]): StatsEntry | undefined {
  const byTransport = stats.find((entry) => entry.type === "transport" && typeof entry.selectedCandidatePairId === "string")?.selectedCandidatePairId;
  return (
    stats.find((entry) => entry.id === byTransport) ?? stats.find((entry) => entry.type === "candidate-pair" && entry.nominated === true && entry.state === "succeeded")
  );
}

/**
 * The stats to report from: the fresh ones, or, when they name no selected pair, the last ones
 * that did with the fresh inbound streams. Chrome's stats asked for as the peer connection closes
 * (the hang-up report) often lack the transport and the pairs.
 */
export function latestWithPair(fresh: readonly StatsEntry[], earlier: readonly StatsEntry[]): StatsEntry[] {
  if (selectedPair(fresh) || !selectedPair(earlier)) return [...fresh];
  const inbound = fresh.filter((entry) => entry.type === "inbound-rtp");
  return inbound.length > 0 ? [...earlier.filter((entry) => entry.type !== "inbound-rtp"), ...inbound] : [...earlier];
}

function oneOf<T extends string>(value: unknown, allowed: ReadonlySet<T>): T | undefined {
  return typeof value === "string" && allowed.has(value as T) ? (value as T) : undefined;
}
