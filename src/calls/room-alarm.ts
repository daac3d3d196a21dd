/**
 * A call room's one alarm, set for the earliest time any of its users wants (the call's own
 * deadline, each outbox's next entry), and written only when that time moves: after an outbox
 * empties, the alarm goes to the call's deadline instead of waking the room at the end of every
 * entry's grace for nothing (one alarm write instead of an alarm run, for every call).
 */
export class RoomAlarm {
  /** When this instance last set the alarm for (unknown after a restart, and once it has run). */
  private at: number | undefined;

  /** `wanted` gives the times wanted now (undefined: not wanted by that one). */
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly wanted: () => (number | undefined)[],
  ) {}

  /** Sets the alarm for the earliest time wanted, or deletes it when none is. */
  async arm(): Promise<void> {
    const at = this.next();
    this.at = at;
    if (at === undefined) await this.storage.deleteAlarm();
    else await this.storage.setAlarm(at);
  }

  /** Sets the alarm again if the earliest time wanted is no longer the one it was set for. */
  async rearm(): Promise<void> {
    if (this.next() !== this.at) await this.arm();
  }

  /** The alarm has gone off: it is no longer set. */
  ran(): void {
    this.at = undefined;
  }

  private next(): number | undefined {
    const times = this.wanted().filter((at): at is number => at !== undefined);
    return times.length > 0 ? Math.min(...times) : undefined;
  }
}
