import type { CallNotice } from "./call-notice";
import type { LineCall } from "./machine";

/**
 * What a call room needs from outside it, passed in by the Worker entry (src/index.ts), which is
 * where the layers are wired: the calls layer says what to tell whom, others decide how. Tests
 * pass their own in a few lines.
 */
export interface RoomPorts {
  /** People's devices: the push queue (push/queue-notifier.ts). */
  notifier: Notifier;
  /** People's open tabs and devices: their `UserLine` objects (line.ts, {@link userLines}). */
  lines: Lines;
}

/** Delivers a call's notices; must not throw for a delivery problem. */
export interface Notifier {
  notify(notices: readonly CallNotice[]): Promise<void>;
  /** Why one of these notices could never be delivered (too large for some push service), if so. */
  refusal(notices: readonly CallNotice[]): string | undefined;
}

/** Tells a participant's line what became of a call; throws when the line could not be reached. */
export interface Lines {
  record(userId: string, call: LineCall): Promise<void>;
}
