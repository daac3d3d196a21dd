/**
 * The decisions of WebRTC's "perfect negotiation" pattern, as pure functions so they can be
 * tested without a browser. The callee is polite (yields on an offer collision), the caller
 * impolite (ignores the colliding offer) — decided by role, so both sides always agree.
 */
// The DOM's RTCSignalingState and RTCSdpType, spelled out so this module needs no DOM types.
type SignalingState = "stable" | "have-local-offer" | "have-remote-offer" | "have-local-pranswer" | "have-remote-pranswer" | "closed";
type SdpType = "offer" | "answer" | "pranswer" | "rollback";

export interface NegotiationState {
  makingOffer: boolean;
  isSettingRemoteAnswerPending: boolean;
  signalingState: SignalingState;
}

/**
 * What to do with an incoming description: `ignore` it (impolite side, collision), or `apply` it
 * (and, for an offer, answer it). Polite peers roll back implicitly through
 * `setRemoteDescription`.
 */
export function onRemoteDescription(type: SdpType, polite: boolean, state: NegotiationState): "ignore" | "apply" {
  const readyForOffer = !state.makingOffer && (state.signalingState === "stable" || state.isSettingRemoteAnswerPending);
  const collision = type === "offer" && !readyForOffer;
  return collision && !polite ? "ignore" : "apply";
}

/**
 * Reconnect delay for the signaling socket: exponential from 250 ms, capped at 10 s, with full
 * jitter so a thousand clients do not reconnect in step.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(10_000, 250 * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * When to fetch new ICE credentials: 5 minutes before they expire, or at 80 % of what is left
 * when that is under 25 minutes, never sooner than 5 seconds from now.
 */
export function iceRefreshDelayMs(expiresAt: string, now: number): number {
  const left = Date.parse(expiresAt) - now;
  return Math.max(5_000, left >= 1_500_000 ? left - 300_000 : left * 0.8);
}
