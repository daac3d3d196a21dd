/**
 * The health probe's conversation (src/turn/probe.ts: binding, Allocate challenge, Allocate with
 * the long-term credential, Refresh 0) against a scripted TURN server in the test, which checks
 * MESSAGE-INTEGRITY with coturn's key (MD5 of user:realm:HMAC-SHA1 password) and answers as
 * coturn does: success, 401 for another secret, 438 Stale Nonce, 486 quota, or broken answers.
 * It proves each outcome's reason; over real TCP against a real coturn: test/node/turn-health.test.ts.
 */
import { describe, expect, it } from "vitest";
import { turnPassword } from "../../src/turn/credentials";
import { turnConversation, type StunTransport } from "../../src/turn/probe";
import { Attribute, decodeMessage, encodeMessage, longTermKey, MessageType, text, textOf, verifyIntegrity, type StunAttribute } from "../../src/turn/stun";

const SECRET = "70726f62652d746573742d736563726574";
const REALM = "turn.test";

type Behaviour = { secret?: string; staleNonceOnce?: boolean; refuseWith?: number; breakWith?: "binding-error" | "other-transaction" | "garbage" };

/** A TURN server in a function: one request in, one answer out, as coturn would answer it. */
function scriptedServer(behaviour: Behaviour = {}) {
  const seen: string[] = [];
  let nonce = "nonce-1";
  const transport: StunTransport = {
    async exchange(request) {
      const message = decodeMessage(request);
      const answer = async (type: number, attributes: StunAttribute[] = [], key?: Uint8Array) =>
        encodeMessage({ type, transactionId: behaviour.breakWith === "other-transaction" ? new Uint8Array(12) : message.transactionId, attributes }, { ...(key ? { integrityKey: key } : {}), fingerprint: true });
      const error = (type: number, code: number, reason: string, extra: StunAttribute[] = []) =>
        answer(type, [{ type: Attribute.ErrorCode, value: new Uint8Array([0, 0, Math.floor(code / 100), code % 100, ...text(reason)]) }, ...extra]);
      const challenge = [
        { type: Attribute.Realm, value: text(REALM) },
        { type: Attribute.Nonce, value: text(nonce) },
      ];
      switch (message.type) {
        case MessageType.BindingRequest:
          seen.push("binding");
          if (behaviour.breakWith === "garbage") return new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
          if (behaviour.breakWith === "binding-error") return error(MessageType.BindingError, 400, "Bad Request");
          return answer(MessageType.BindingSuccess, [{ type: Attribute.XorMappedAddress, value: new Uint8Array([0, 1, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43]) }]);
        case MessageType.AllocateRequest: {
          const username = textOf(message, Attribute.Username);
          if (username === undefined) {
            seen.push("allocate (challenge)");
            return error(MessageType.AllocateError, 401, "Unauthorized", challenge);
          }
          seen.push("allocate (credential)");
          const key = await longTermKey(username, REALM, await turnPassword(behaviour.secret ?? SECRET, username));
          if (!(await verifyIntegrity(request, key))) return error(MessageType.AllocateError, 401, "Unauthorized", challenge);
          if (behaviour.staleNonceOnce && nonce === "nonce-1") {
            nonce = "nonce-2";
            return error(MessageType.AllocateError, 438, "Stale Nonce", [{ type: Attribute.Realm, value: text(REALM) }, { type: Attribute.Nonce, value: text(nonce) }]);
          }
          if (textOf(message, Attribute.Nonce) !== nonce) return error(MessageType.AllocateError, 438, "Stale Nonce", challenge);
          if (behaviour.refuseWith) return error(MessageType.AllocateError, behaviour.refuseWith, "Allocation Quota Reached");
          return answer(MessageType.AllocateSuccess, [], key);
        }
        case MessageType.RefreshRequest:
          seen.push(`refresh lifetime ${new DataView(message.attributes.find((a) => a.type === Attribute.Lifetime)!.value.buffer).getUint32(0)}`);
          return answer(MessageType.RefreshSuccess);
        default:
          throw new Error(`unexpected message type ${message.type}`);
      }
    },
    close: () => undefined,
  };
  return { transport, seen };
}

async function credential() {
  const username = `${Math.floor(Date.now() / 1000) + 300}:turn-health-check`;
  return { username, password: await turnPassword(SECRET, username) };
}

describe("the probe's conversation", () => {
  it("passes a host that allocates with our credential, and releases the allocation", async () => {
    const server = scriptedServer();
    const outcome = await turnConversation(server.transport, await credential());
    expect(outcome).toMatchObject({ reason: "ok", detail: expect.stringContaining("seen as 192.0.2.1:32853"), latencyMs: expect.any(Number) });
    expect(server.seen).toEqual(["binding", "allocate (challenge)", "allocate (credential)", "refresh lifetime 0"]);
  });

  it("reports auth_failed when the host has another secret (401 after the nonce)", async () => {
    const server = scriptedServer({ secret: "77726f6e672d736563726574" });
    expect(await turnConversation(server.transport, await credential())).toMatchObject({ reason: "auth_failed", detail: expect.stringMatching(/401 Unauthorized after the nonce/) });
    expect(server.seen).toEqual(["binding", "allocate (challenge)", "allocate (credential)"]);
  });

  it("answers 438 Stale Nonce once with the new nonce", async () => {
    const server = scriptedServer({ staleNonceOnce: true });
    expect(await turnConversation(server.transport, await credential())).toMatchObject({ reason: "ok" });
    expect(server.seen.filter((step) => step === "allocate (credential)")).toHaveLength(2);
  });

  it("reports allocate_refused with the code for any other refusal", async () => {
    const server = scriptedServer({ refuseWith: 486 });
    expect(await turnConversation(server.transport, await credential())).toMatchObject({ reason: "allocate_refused", detail: "allocate refused: 486 Allocation Quota Reached" });
  });

  it.each([
    ["a binding error", "binding-error", /binding request answered with type 0x111/],
    ["an answer to another transaction", "other-transaction", /another transaction/],
    ["bytes that are not STUN", "garbage", /not STUN/],
  ] as const)("reports bad_response for %s", async (_what, breakWith, detail) => {
    const server = scriptedServer({ breakWith });
    expect(await turnConversation(server.transport, await credential())).toEqual({ reason: "bad_response", detail: expect.stringMatching(detail), latencyMs: null });
  });
});
