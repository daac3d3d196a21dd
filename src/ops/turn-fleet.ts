import { z } from "@hono/zod-openapi";
import { ConfigError } from "../platform/config";
import { log } from "../platform/log";
import { turnFleetStatus, TurnFleetStatusSchema } from "../turn/fleet";
import { HostHealthSchema } from "../turn/health";

/**
 * The TURN hosts and their health, for the stats API and the status page's TURN panel: the
 * health checks' view (turn/fleet.ts, the same as `GET /v1/admin/turn`) without the probe
 * history, or why it cannot be had (a malformed `TURN_POOLS`, the fleet's object unreachable).
 */
const HostSchema = HostHealthSchema.pick({ host: true, status: true, listed: true, latencyMs: true, since: true }).extend({ reason: z.string().optional() });
const Provider = TurnFleetStatusSchema.shape.pools.element.shape.provider;

export const TurnFleetSchema = z
  .discriminatedUnion("available", [
    z.object({ available: z.literal(false), reason: z.string() }),
    z.object({
      available: z.literal(true),
      pools: z.array(z.object({ region: z.string(), provider: Provider, listed: z.boolean(), hosts: z.array(HostSchema) })),
    }),
  ])
  .openapi("TurnFleet", { description: "TURN hosts of each pool: up, failing or down, why, latency, since when; or why this is not available" });
export type TurnFleet = z.output<typeof TurnFleetSchema>;

/** The fleet's state as this deployment knows it. */
export async function turnFleet(env: Env): Promise<TurnFleet> {
  try {
    const { pools } = await turnFleetStatus(env);
    return {
      available: true,
      pools: pools.map(({ region, provider, listed, hosts }) => ({
        region,
        provider,
        listed,
        hosts: hosts.map(({ host, status, listed: hostListed, reason, latencyMs, since }) => ({ host, status, listed: hostListed, ...(reason ? { reason } : {}), latencyMs, since })),
      })),
    };
  } catch (error) {
    if (error instanceof ConfigError) return { available: false, reason: `TURN misconfigured: check ${error.variables.join(", ")}` };
    log("warn", "turn_fleet_unreadable", { message: String(error) });
    return { available: false, reason: "the TURN fleet's health could not be read" };
  }
}
