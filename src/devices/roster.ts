import { DurableObject } from "cloudflare:workers";
import { log } from "../platform/log";

/** The most devices a user keeps: registering one more removes the least recently updated. */
export const MAX_DEVICES_PER_USER = 20;

// Ids evicted while known from seeding alone, remembered with their update time (the newest
// kept): enough for any burst the write rate limit lets through.
const TOMBSTONES_KEPT = 100;

export interface RosterEntry {
  deviceId: string;
  updatedAt: string;
}

/**
 * Which devices a user has, decided in one place: KV (the store push reads) is eventually
 * consistent, so registrations that each list the user's devices and trim them overshoot the cap
 * under a burst (28 at once left 23; two bursts of 40, 48). One roster per user (`idFromName` of
 * the user's key part), strongly consistent and single-threaded, admits each device id, keeps its
 * last update time, and names the devices to evict so the user never holds more than
 * {@link MAX_DEVICES_PER_USER}. Only ids and times live here; the devices themselves stay in KV.
 *
 * A deployment that had devices before rosters existed: a roster seeds itself from the user's KV
 * listing on first use, so those devices count (and the oldest go first) from the first admission.
 */
export class DeviceRoster extends DurableObject<Env> {
  /**
   * Records `deviceId` as updated at `updatedAt` (a new id or an update) and returns the ids to
   * evict: the least recently updated others, as many as put the user over the cap (or the device
   * itself, when seeding counted it and it was evicted before its own admission came). `existing` lists the user's devices in
   * KV, read only when this roster was never used before.
   */
  async admit(deviceId: string, updatedAt: string, existing: () => Promise<RosterEntry[]>): Promise<string[]> {
    await this.seeded(existing);
    const sql = this.ctx.storage.sql;
    // Seeding may have counted this very registration (written to KV, not yet admitted) and a
    // later admission evicted it, deleting it from KV: it stays evicted, and its caller deletes it
    // again rather than bring back a device the roster no longer counts.
    const tombstone = sql.exec<{ updated_at: string }>("SELECT updated_at FROM evicted WHERE id = ?", deviceId).toArray()[0];
    if (tombstone && tombstone.updated_at >= updatedAt) return [deviceId];
    sql.exec("DELETE FROM evicted WHERE id = ?", deviceId);
    sql.exec(
      "INSERT INTO devices (id, updated_at, admitted) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, admitted = 1",
      deviceId,
      updatedAt,
    );
    const evict = sql
      .exec<{ id: string; updated_at: string; admitted: number }>(
        "SELECT id, updated_at, admitted FROM devices WHERE id != ? ORDER BY updated_at DESC, id DESC LIMIT -1 OFFSET ?",
        deviceId,
        MAX_DEVICES_PER_USER - 1,
      )
      .toArray();
    for (const { id, updated_at, admitted } of evict) {
      sql.exec("DELETE FROM devices WHERE id = ?", id);
      // Only a device known from seeding alone can still have an admission on its way.
      if (!admitted) sql.exec("INSERT INTO evicted (id, updated_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at", id, updated_at);
    }
    if (evict.length > 0) {
      sql.exec("DELETE FROM evicted WHERE id NOT IN (SELECT id FROM evicted ORDER BY updated_at DESC LIMIT ?)", TOMBSTONES_KEPT);
      log("info", "device_evicted", { deviceIds: evict.map((row) => row.id), cap: MAX_DEVICES_PER_USER });
    }
    return evict.map((row) => row.id);
  }

  /** Forgets a removed device (deleted, its token dead or moved to another user). */
  async forget(deviceId: string): Promise<void> {
    if (this.ctx.storage.kv.get("seeded")) this.ctx.storage.sql.exec("DELETE FROM devices WHERE id = ?", deviceId);
  }

  /** The ids the roster holds, newest first (for tests and operators). */
  async deviceIds(): Promise<string[]> {
    if (!this.ctx.storage.kv.get("seeded")) return [];
    return this.ctx.storage.sql
      .exec<{ id: string }>("SELECT id FROM devices ORDER BY updated_at DESC, id DESC")
      .toArray()
      .map((row) => row.id);
  }

  private async seeded(existing: () => Promise<RosterEntry[]>): Promise<void> {
    if (this.ctx.storage.kv.get("seeded")) return;
    // Admissions wait while the KV listing is read, so none is decided on a half-seeded roster.
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.ctx.storage.kv.get("seeded")) return;
      const devices = await existing();
      this.ctx.storage.transactionSync(() => {
        // `admitted`: 0 for a device known only from the KV listing, 1 once its registration was admitted.
        this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, updated_at TEXT NOT NULL, admitted INTEGER NOT NULL DEFAULT 0)");
        this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS evicted (id TEXT PRIMARY KEY, updated_at TEXT NOT NULL)");
        for (const device of devices) {
          this.ctx.storage.sql.exec("INSERT INTO devices (id, updated_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", device.deviceId, device.updatedAt);
        }
        this.ctx.storage.kv.put("seeded", true);
      });
    });
  }
}
