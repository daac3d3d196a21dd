import { inCall, type Call, type Role } from "./machine";
import { PENDING_MAX_BYTES, PENDING_MAX_CALL_BYTES, PENDING_MAX_FRAMES, type PendingFrames } from "./pending";
import type { Participant, RelayedFrame, ServerFrame } from "./protocol";
import { isOpen } from "./sockets";

/**
 * How a call's relayed frames reach people: to one connection (`to`) or to everyone else still in
 * the call; kept for those not connected yet, who get them in order when they join; and a ringing
 * callee's own session description and candidates held until it answers, so no media flows
 * before someone picks up. Sockets are found by the tags the room gives them (`u:<user>`,
 * `c:<connection>`); `present` says whether the room still counts a socket (not one it is
 * closing). What the sender must be told comes back as an error frame.
 */
export class Relay {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly pending: PendingFrames,
    private readonly present: (ws: WebSocket) => boolean,
  ) {}

  /** Forwards one frame from `sender` (its socket `from`) with `from` stamped; what to tell the sender, if anything. */
  forward(sender: Participant & { role: Role }, from: WebSocket, call: Call, frame: RelayedFrame): ServerFrame | undefined {
    const { to, ...rest } = frame;
    const text = JSON.stringify({ ...rest, from: { userId: sender.userId, connectionId: sender.connectionId } });
    if (call.state === "ringing" && sender.role === "callee" && frame.type !== "message") {
      const held = this.pending.addHeld(sender.userId, { text, ...(to !== undefined ? { to } : {}) });
      return held ? undefined : queueFull("what you send before answering waits for your answer, and the room holds no more of it");
    }
    return this.route(sender.userId, call, text, to, from);
  }

  /** Relays, in order, what the answering callee sent while the call was ringing. */
  releaseHeld(call: Call, userId: string): void {
    const sender = this.ctx.getWebSockets(`u:${userId}`).find(isOpen);
    for (const frame of this.pending.takeHeld(userId)) {
      const problem = this.route(userId, call, frame.text, frame.to);
      if (problem && sender) sender.send(JSON.stringify(problem));
    }
  }

  /**
   * Delivers a relayed frame to connection `to`, or to everyone else still in the call (kept for
   * those not connected). Returns what to tell the sender when it could not.
   */
  private route(sender: string, call: Call, text: string, to: string | undefined, senderSocket?: WebSocket): ServerFrame | undefined {
    if (to !== undefined) {
      const target = this.ctx.getWebSockets(`c:${to}`).find((socket) => isOpen(socket) && this.present(socket));
      if (!target || target === senderSocket) return { type: "error", code: "unknown_recipient", message: `no connection ${to} in this call` };
      target.send(text);
      return undefined;
    }
    const dropped: string[] = [];
    for (const userId of inCall(call)) {
      if (userId === sender) continue;
      const sockets = this.ctx.getWebSockets(`u:${userId}`).filter(isOpen);
      if (sockets.length > 0) {
        for (const socket of sockets) socket.send(text);
      } else if (!this.pending.addPending(userId, text)) {
        dropped.push(userId);
      }
    }
    return dropped.length > 0 ? queueFull(`not delivered to ${dropped.join(", ")}: not connected, and the room keeps no more frames for them`) : undefined;
  }
}

const queueFull = (why: string): ServerFrame => ({
  type: "error",
  code: "recipient_queue_full",
  message: `frame dropped: ${why} (at most ${PENDING_MAX_FRAMES} frames or ${PENDING_MAX_BYTES} bytes per person, ${PENDING_MAX_CALL_BYTES} bytes per call)`,
});
