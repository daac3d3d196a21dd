import { createRoute } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { CallReportSchema } from "../metrics/events";
import { record } from "../metrics/recorder";
import { ApiError } from "../platform/errors";
import { bearerSecurity, errorContent, newRouter } from "../platform/http";
import { limitPerUser } from "../platform/request-limits";
import { turnConfig } from "../turn/config";
import { CallIdParam, room, unwrap } from "./routes";

/** A report is a few hundred bytes of JSON; anything near this is not one. */
const MAX_REPORT_BYTES = 4096;

/**
 * `POST /v1/calls/{callId}/report`: what a participant's client measured of the call (outcome,
 * time to connected, the selected candidate pair, RTT, loss, ICE restarts), recorded as an event
 * for the operator (docs/observability.md). Participants only. The relay URL becomes the region of
 * the pool that lists it (only the service knows every pool's region; the client's ICE list names
 * the primary one), and a region the deployment does not have is recorded as `other`, so a client
 * cannot invent labels.
 */
export const reportRoutes = newRouter().openapi(
  createRoute({
    method: "post",
    path: "/calls/{callId}/report",
    tags: ["Calls"],
    summary: "Report what this client measured of the call (participants; the SDK sends it by itself)",
    description: "Sent once per trigger: when the connection first connects, when it fails, and at hang-up. At most 4 KiB; 30 a minute per user.",
    security: bearerSecurity,
    middleware: [
      limitPerUser("reports"),
      bodyLimit({
        maxSize: MAX_REPORT_BYTES,
        onError: () => {
          throw new ApiError("payload_too_large", `a call report is at most ${MAX_REPORT_BYTES} bytes`);
        },
      }),
    ] as const,
    request: { params: CallIdParam, body: { content: { "application/json": { schema: CallReportSchema } }, required: true } },
    responses: {
      204: { description: "Recorded" },
      400: errorContent("Bad body"),
      401: errorContent("Missing or invalid bearer token"),
      403: errorContent("Not a participant of this call"),
      404: errorContent("No such call"),
      413: errorContent("Body larger than 4 KiB"),
      429: errorContent("Too many reports from this user (30 a minute); see retry-after"),
    },
  }),
  async (c) => {
    const { callId } = c.req.valid("param");
    const report = c.req.valid("json");
    const { userId } = c.var.principal;
    // Each participant's report of each trigger counts once: a repeat is taken and dropped.
    if (!unwrap(await room(c, callId).acceptReport(userId, report.trigger))) return c.body(null, 204);
    const { pools, managed } = turnConfig(c.env);
    const { region, relayUrl, ...measured } = report;
    const regions = [...pools.map((pool) => pool.region), ...(managed ? [managed.region] : [])];
    const relayRegion = relayUrl === undefined ? undefined : (pools.find((pool) => pool.urls.includes(relayUrl))?.region ?? (managed && isManagedRelay(relayUrl) ? managed.region : "other"));
    record(c.env, {
      type: "call-report",
      callId,
      userId,
      ...measured,
      ...(region === undefined ? {} : { region: regions.includes(region) ? region : "other" }),
      ...(relayRegion === undefined ? {} : { relayRegion }),
    });
    return c.body(null, 204);
  },
);

/** A relay URL of Cloudflare Realtime TURN, whose ICE servers its API hands out (turn/managed.ts). */
const isManagedRelay = (url: string) => /^turns?:([a-z0-9-]+\.)*cloudflare\.com(:|\?|$)/i.test(url);
