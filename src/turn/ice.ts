import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { record } from "../metrics/recorder";
import type { AppEnv } from "../platform/http";
import { turnConfig } from "./config";
import { clampTtl, iceConfiguration, IceServerSchema } from "./credentials";
import { downHosts } from "./fleet";
import { managedIceServers } from "./managed";
import { callerLocation } from "./regions";

/**
 * The ICE configuration of one request's caller, and its wire shape: what
 * `GET /v1/calls/ice-servers` returns and what `POST /v1/calls` embeds for the caller.
 */
export const IceServersSchema = z
  .object({
    iceServers: z.array(IceServerSchema),
    ttl: z.number().int().openapi({ example: 86400 }),
    expiresAt: z.string().openapi({ example: "2026-11-25T11:20:00Z", description: "When the earliest credential in the list expires" }),
    region: z.string().openapi({ example: "eu" }),
  })
  .openapi("IceServers", {
    description: "A valid RTCConfiguration (pass it to new RTCPeerConnection) plus the credential's lifetime and region.",
  });

const NO_HOSTS: ReadonlySet<string> = new Set();

/**
 * The caller's ICE configuration: their user id, where the request comes from, the ttl asked,
 * the fleet's health from this isolate's copy (fleet.ts), and the managed pool's servers when
 * one is configured (fetched in parallel, cached per user).
 */
export async function iceFor(c: Context<AppEnv>, ttl?: number) {
  const turn = turnConfig(c.env);
  const now = Date.now();
  const userId = c.var.principal.userId;
  const [down, managed] = await Promise.all([
    turn.pools.length > 0 ? downHosts(c.env, waitUntilOf(c)) : NO_HOSTS,
    turn.managed ? managedIceServers(turn.managed, { userId, ttl: clampTtl(ttl, turn), now }) : undefined,
  ]);
  const ice = await iceConfiguration(
    turn,
    { userId, caller: callerLocation(c.req.raw.cf), ...(ttl === undefined ? {} : { ttl }), now },
    { down, ...(managed ? { managed } : {}) },
  );
  record(c.env, { type: "turn-credential", region: ice.region, userId });
  return ice;
}

/** The request's `waitUntil`; without an execution context (a test calling `app.fetch`), the promise just runs. */
function waitUntilOf(c: Context<AppEnv>): (promise: Promise<unknown>) => void {
  return (promise) => {
    try {
      c.executionCtx.waitUntil(promise);
    } catch {
      // No ExecutionContext: nothing to extend, the promise settles on its own.
    }
  };
}
