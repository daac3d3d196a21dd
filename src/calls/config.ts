import { z } from "zod";
import { configSection, seconds, wholeNumber } from "../platform/config";

/** An active call whose every socket has been closed this long ends with reason `failed`. */
const UNATTENDED_TIMEOUT_MS = 120_000;

/**
 * A call's clock: how long it rings (any whole number of seconds from 1: an acceptance suite may
 * want a missed call in a second or two), how long an ended call stays readable.
 */
const CallsSection = z
  .object({ CALL_RING_TIMEOUT: seconds(45, 1), CALL_RETENTION: seconds(86_400, 60) })
  .transform((env) => ({
    ringTimeoutMs: env.CALL_RING_TIMEOUT * 1000,
    retentionMs: env.CALL_RETENTION * 1000,
    unattendedTimeoutMs: UNATTENDED_TIMEOUT_MS,
  }));

/** The call socket's limits (contract section 4.2). */
const SignalingSection = z
  .object({
    SIGNAL_MAX_FRAME_BYTES: wholeNumber(65_536, "bytes", 1024),
    SIGNAL_MAX_FRAMES_PER_SECOND: wholeNumber(50, "frames", 1),
    SIGNAL_MAX_CONNECTIONS: wholeNumber(8, "connections", 2),
  })
  .transform((env) => ({
    maxFrameBytes: env.SIGNAL_MAX_FRAME_BYTES,
    maxFramesPerSecond: env.SIGNAL_MAX_FRAMES_PER_SECOND,
    maxConnections: env.SIGNAL_MAX_CONNECTIONS,
  }));

export const callsConfig = configSection("calls", CallsSection);
export const signalingConfig = configSection("signaling", SignalingSection);
export type SignalingConfig = ReturnType<typeof signalingConfig>;
