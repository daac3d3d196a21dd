import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { record } from "../metrics/recorder";
import type { AppEnv } from "../platform/http";
import { turnConfig } from "./config";
import { iceConfiguration, IceServerSchema } from "./credentials";
import { callerLocation } from "./regions";

/**
 * The ICE configuration of one request's caller, and its wire shape: what
 * `GET /v1/calls/ice-servers` returns and what `POST /v1/calls` embeds for the caller.
 */
export const IceServersSchema = z
  .object({
    iceServers: z.array(IceServerSchema),
    ttl: z.number().int().openapi({ example: 86400 }),
    expiresAt: z.string().openapi({ example: "2026-11-25T11:20:00Z" }),
    region: z.string().openapi({ example: "eu" }),
  })
  .openapi("IceServers", {
    description: "A valid RTCConfiguration (pass it to new RTCPeerConnection) plus the credential's lifetime and region.",
  });

/** The caller's ICE configuration: their user id, where the request comes from, the ttl asked. */
export async function iceFor(c: Context<AppEnv>, ttl?: number) {
  const ice = await iceConfiguration(turnConfig(c.env), {
    userId: c.var.principal.userId,
    caller: callerLocation(c.req.raw.cf),
    ...(ttl === undefined ? {} : { ttl }),
    now: Date.now(),
  });
  record(c.env, { type: "turn-credential", region: ice.region, userId: c.var.principal.userId });
  return ice;
}

