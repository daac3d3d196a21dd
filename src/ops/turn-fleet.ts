import { z } from "@hono/zod-openapi";

/**
 * The TURN hosts and their health, for the stats API and the status page's TURN panel. The fleet
 * is not watched yet (TURN health checks are their own piece of work): until then the panel says
 * so. When the fleet's state exists, {@link turnFleet} is the one place that reads it.
 */
const HostSchema = z.object({
  host: z.string(),
  up: z.boolean(),
  reason: z.string().optional(),
  latencyMs: z.number().nullable(),
  since: z.string(),
});

export const TurnFleetSchema = z
  .discriminatedUnion("available", [
    z.object({ available: z.literal(false), reason: z.string() }),
    z.object({ available: z.literal(true), pools: z.array(z.object({ region: z.string(), hosts: z.array(HostSchema) })) }),
  ])
  .openapi("TurnFleet", { description: "TURN hosts of each pool: up or down, why, latency, since when; or why this is not available" });
export type TurnFleet = z.output<typeof TurnFleetSchema>;

/** The fleet's state as this deployment knows it. */
export async function turnFleet(_env: Env): Promise<TurnFleet> {
  return { available: false, reason: "TURN host health is not monitored by this deployment yet" };
}
