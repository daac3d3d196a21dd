import type { IncomingCall, LineServerFrame } from "./protocol.js";

/**
 * The decisions of WebRTC's "perfect negotiation" pattern (and of the line's ringing list), as
 * pure functions so they can be tested without a browser. The callee is polite (yields on an
 * offer collision), the caller impolite (ignores the colliding offer) — decided by role, so both
 * sides always agree.
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
 * Whether to answer `negotiationneeded` with an offer now. The caller makes the first offer; the
 * callee (which adds its tracks as soon as it joins) waits until that offer is answered, so the
 * two first offers never collide. A collision is survivable in theory, but the polite side's
 * rollback costs a round trip and a wasted TURN allocation, and Chromium can leave the
 * rolled-back side gathering no candidates at all (seen in the NAT matrix, about one call in
 * five). The browser fires `negotiationneeded` again once the callee is stable if its tracks
 * still need a negotiation.
 */
export function shouldOffer(polite: boolean, hasRemoteDescription: boolean): boolean {
  return !polite || hasRemoteDescription;
}

/** How long the callee lets the caller restart ICE first. */
export const CALLEE_RESTART_GRACE_MS = 4_000;

/**
 * How long a connection may stay `disconnected` before it is restarted. Browsers take 15–30 s
 * to call a dead path `failed`; a network change (Wi-Fi to mobile) shows as `disconnected`
 * within seconds, and a short blip recovers on its own within this grace.
 */
export const DISCONNECTED_GRACE_MS = 3_000;

/**
 * When to restart ICE after the connection broke, in ms from now: the caller at once when it
 * `failed`, after {@link DISCONNECTED_GRACE_MS} when it is `disconnected`; the callee a further
 * {@link CALLEE_RESTART_GRACE_MS} later, only if the caller's restart has not arrived by then
 * (the caller may be gone, or still reconnecting its socket) — two restarts at once would collide.
 */
export function iceRestartDelayMs(polite: boolean, state: "failed" | "disconnected"): number {
  return (state === "disconnected" ? DISCONNECTED_GRACE_MS : 0) + (polite ? CALLEE_RESTART_GRACE_MS : 0);
}

/**
 * A connection that broke fetches a fresh ICE list at once (its TURN host may be the thing that
 * died, and the service has left dead hosts out of new lists), so the restart gathers with it.
 * Fetches caused by trouble are at least this far apart: a flapping link must not hammer the API.
 */
export const ICE_REFETCH_INTERVAL_MS = 10_000;

/** How long an ICE restart waits for that fetch before going ahead with the servers it has. */
export const ICE_REFETCH_WAIT_MS = 3_000;

/**
 * Whether a broken connection should fetch a fresh ICE list now: yes unless the last such fetch
 * started less than {@link ICE_REFETCH_INTERVAL_MS} ago.
 */
export function shouldRefetchIceServers(lastFetchAt: number | undefined, now: number): boolean {
  return lastFetchAt === undefined || now - lastFetchAt >= ICE_REFETCH_INTERVAL_MS;
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

/**
 * Whether a session description or candidate from `senderUserId` is for this peer connection:
 * only the call's other side may drive it. A callee's peer is the caller (known from the room's
 * welcome); the caller's peer is whoever answered (from the `state` frame), and before anyone
 * has, nobody is (the room holds callees' descriptions until they answer anyway).
 */
export function isFromPeer(senderUserId: string, peerUserId: string | undefined): boolean {
  return peerUserId !== undefined && senderUserId === peerUserId;
}

/**
 * The calls ringing for the user after one line frame, and what changed: `welcome` is the whole
 * list (a call missing from it stopped ringing while the line was down), `incoming-call` adds
 * one, and a `call-update` to anything but `ringing` (answered here or elsewhere, declined,
 * cancelled, missed) removes one. `added` are the calls to announce; a call already known is
 * not announced again when a reconnect's `welcome` lists it.
 */
export function nextRinging(ringing: ReadonlyMap<string, IncomingCall>, frame: LineServerFrame): { ringing: Map<string, IncomingCall>; added: IncomingCall[]; removed: string[] } {
  const next = new Map(frame.type === "welcome" ? frame.calls.map((call) => [call.callId, call]) : ringing);
  if (frame.type === "incoming-call") next.set(frame.call.callId, frame.call);
  if (frame.type === "call-update" && frame.call.state !== "ringing") next.delete(frame.call.callId);
  return {
    ringing: next,
    added: [...next.values()].filter((call) => !ringing.has(call.callId)),
    removed: [...ringing.keys()].filter((callId) => !next.has(callId)),
  };
}
