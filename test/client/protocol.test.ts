/**
 * The SDK's hand-written wire types (client/src/protocol.ts, what its published `.d.ts` carries)
 * are exactly the types of the server's zod schemas (src/calls/protocol.ts, line-protocol.ts, and
 * the call report's in src/metrics/events.ts):
 * a field added, removed, renamed or retyped on either side fails `npm run typecheck` (which
 * compiles this file; `expectTypeOf` does nothing at run time). The run-time half checks that
 * sample frames of every SDK type parse with the server's schemas. Not covered: the SDK's use of
 * the frames (test/client/negotiation.test.ts, test/e2e).
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type * as Sdk from "../../client/src/protocol";
import { CallUpdateSchema, IncomingCallSchema, LineClientFrameSchema, LineServerFrameSchema } from "../../src/calls/line-protocol";
import {
  CallStateSchema,
  ClientFrameSchema,
  EndReasonSchema,
  FrameErrorCodeSchema,
  LeaveReasonSchema,
  ParticipantSchema,
  ServerFrameSchema,
} from "../../src/calls/protocol";
import { CallReportSchema } from "../../src/metrics/events";

type Out<T extends z.ZodType> = z.output<T>;
type In<T extends z.ZodType> = z.input<T>;

describe("the SDK's wire types", () => {
  it("equal the server's schemas, type for type", () => {
    expectTypeOf<Sdk.CallState>().toEqualTypeOf<Out<typeof CallStateSchema>>();
    expectTypeOf<Sdk.EndReason>().toEqualTypeOf<Out<typeof EndReasonSchema>>();
    expectTypeOf<Sdk.LeaveReason>().toEqualTypeOf<Out<typeof LeaveReasonSchema>>();
    expectTypeOf<Sdk.FrameErrorCode>().toEqualTypeOf<Out<typeof FrameErrorCodeSchema>>();
    expectTypeOf<Sdk.Participant>().toEqualTypeOf<Out<typeof ParticipantSchema>>();
    // What a client sends is what the server's parser takes in; what it receives, what the server sends.
    expectTypeOf<Sdk.ClientFrame>().toEqualTypeOf<In<typeof ClientFrameSchema>>();
    expectTypeOf<Sdk.ClientFrame>().toEqualTypeOf<Out<typeof ClientFrameSchema>>();
    expectTypeOf<Sdk.ServerFrame>().toEqualTypeOf<Out<typeof ServerFrameSchema>>();
    expectTypeOf<Sdk.IncomingCall>().toEqualTypeOf<Out<typeof IncomingCallSchema>>();
    expectTypeOf<Sdk.CallUpdate>().toEqualTypeOf<Out<typeof CallUpdateSchema>>();
    expectTypeOf<Sdk.LineClientFrame>().toEqualTypeOf<In<typeof LineClientFrameSchema>>();
    expectTypeOf<Sdk.LineServerFrame>().toEqualTypeOf<Out<typeof LineServerFrameSchema>>();
    expectTypeOf<Sdk.JsonValue>().toEqualTypeOf<Extract<Out<typeof ClientFrameSchema>, { type: "message" }>["data"]>();
    expectTypeOf<Sdk.CallReport>().toEqualTypeOf<Out<typeof CallReportSchema>>();
    expectTypeOf<Sdk.CallReport>().toEqualTypeOf<In<typeof CallReportSchema>>();
  });

  it("describe frames the server's schemas accept", () => {
    const from: Sdk.Participant = { userId: "alice", connectionId: "AAAAAAAAAAAAAAAA" };
    const incoming: Sdk.IncomingCall = {
      callId: "c1",
      caller: "alice",
      callees: ["bob"],
      media: "video",
      metadata: { topic: "demo", priority: 1, urgent: false },
      createdAt: "2026-12-03T10:00:00.000Z",
      ringsUntil: "2026-12-03T10:00:45.000Z",
      wsPath: "/v1/calls/c1/ws",
    };
    const client: Sdk.ClientFrame[] = [
      { type: "offer", sdp: "v=0", to: from.connectionId },
      { type: "candidate", candidate: { candidate: "", sdpMid: null, sdpMLineIndex: 0, usernameFragment: null } },
      { type: "candidate", candidate: null },
      { type: "message", data: { muted: true, list: [1, "two", null] } },
      { type: "accept" },
    ];
    const server: Sdk.ServerFrame[] = [
      { type: "welcome", callId: "c1", you: from, state: "ringing", participants: [], caller: "alice" },
      { type: "participant-left", participant: from, reason: "answered-elsewhere" },
      { type: "state", state: "ended", reason: "missed" },
      { type: "answer", sdp: "v=0", from },
      { type: "error", code: "recipient_queue_full", message: "full" },
    ];
    const line: Sdk.LineServerFrame[] = [
      { type: "welcome", userId: "bob", calls: [incoming] },
      { type: "call-update", call: { callId: "c1", state: "active", answeredBy: "bob" } },
    ];
    for (const frame of client) expect(ClientFrameSchema.safeParse(frame).success).toBe(true);
    for (const frame of server) expect(ServerFrameSchema.safeParse(frame).success).toBe(true);
    for (const frame of line) expect(LineServerFrameSchema.safeParse(frame).success).toBe(true);
  });
});
