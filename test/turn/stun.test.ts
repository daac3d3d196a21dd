/**
 * The STUN/TURN message code of the health check (src/turn/stun.ts) against RFC 5769's test
 * vectors, in workerd (WebCrypto's HMAC-SHA1 and MD5 as the Worker has them): decoding, the
 * FINGERPRINT CRC-32, MESSAGE-INTEGRITY with short- and long-term keys, XOR-MAPPED-ADDRESS, and
 * the long-term sample request reproduced byte for byte. It does not talk to a TURN server:
 * test/turn/probe.test.ts runs the conversation, test/node/turn-health.test.ts a real coturn.
 */
import { describe, expect, it } from "vitest";
import {
  Attribute,
  crc32,
  decodeMessage,
  encodeMessage,
  errorCodeOf,
  longTermKey,
  MessageType,
  messageSize,
  StunDecodeError,
  text,
  textOf,
  verifyIntegrity,
  xorAddressOf,
} from "../../src/turn/stun";

const bytes = (hex: string) => new Uint8Array(hex.replace(/\s+/g, "").match(/../g)!.map((pair) => parseInt(pair, 16)));

// RFC 5769 section 2.1: a Binding request with short-term credentials (USERNAME padded with spaces).
const SAMPLE_REQUEST = bytes(`
  000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74
  002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf`);
// Section 2.2: the Binding success answer, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const SAMPLE_IPV4_RESPONSE = bytes(`
  0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
  00200008 0001a147e112a643 000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7 80280004c07d4c96`);
// Section 2.3: the same over IPv6, 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
const SAMPLE_IPV6_RESPONSE = bytes(`
  010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
  00200014 0002a1470113a9faa5d3f179bc25f4b5bed2b9d9 00080014a382954e4be67bf11784c97c8292c275bfe3ed41 80280004c8fb0b4c`);
// Section 2.4: a Binding request with long-term credentials (NUL padding), no FINGERPRINT.
const SAMPLE_LONG_TERM_REQUEST = bytes(`
  000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b90000
  0015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d706c652e6f726700
  00080014f67024656dd64a3e02b8e0712e85c9a28ca89666`);
const SHORT_TERM_PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt";
const MATRIX = "\u30de\u30c8\u30ea\u30c3\u30af\u30b9";

describe("RFC 5769 vectors", () => {
  it("decodes the sample request and checks its FINGERPRINT and short-term MESSAGE-INTEGRITY", async () => {
    const message = decodeMessage(SAMPLE_REQUEST);
    expect(message.type).toBe(MessageType.BindingRequest);
    expect(textOf(message, Attribute.Username)).toBe("evtj:h6vY");
    expect(textOf(message, Attribute.Software)).toBe("STUN test client");
    expect(await verifyIntegrity(SAMPLE_REQUEST, text(SHORT_TERM_PASSWORD))).toBe(true);
    expect(await verifyIntegrity(SAMPLE_REQUEST, text("another password"))).toBe(false);
  });

  it("reads XOR-MAPPED-ADDRESS from the IPv4 and IPv6 sample responses", async () => {
    const v4 = decodeMessage(SAMPLE_IPV4_RESPONSE);
    expect(v4.type).toBe(MessageType.BindingSuccess);
    expect(xorAddressOf(v4)).toBe("192.0.2.1:32853");
    expect(await verifyIntegrity(SAMPLE_IPV4_RESPONSE, text(SHORT_TERM_PASSWORD))).toBe(true);
    expect(xorAddressOf(decodeMessage(SAMPLE_IPV6_RESPONSE))).toBe("[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  });

  it("derives the long-term key MD5(username:realm:password) and verifies the sample", async () => {
    const key = await longTermKey(MATRIX, "example.org", "TheMatrIX");
    expect(await verifyIntegrity(SAMPLE_LONG_TERM_REQUEST, key)).toBe(true);
    const message = decodeMessage(SAMPLE_LONG_TERM_REQUEST);
    expect(textOf(message, Attribute.Username)).toBe(MATRIX);
    expect(textOf(message, Attribute.Nonce)).toBe("f//499k954d6OL34oL9FSTvy64sA");
    expect(textOf(message, Attribute.Realm)).toBe("example.org");
  });

  it("reproduces the long-term sample request byte for byte", async () => {
    const encoded = await encodeMessage(
      {
        type: MessageType.BindingRequest,
        transactionId: SAMPLE_LONG_TERM_REQUEST.slice(8, 20),
        attributes: [
          { type: Attribute.Username, value: text(MATRIX) },
          { type: Attribute.Nonce, value: text("f//499k954d6OL34oL9FSTvy64sA") },
          { type: Attribute.Realm, value: text("example.org") },
        ],
      },
      { integrityKey: await longTermKey(MATRIX, "example.org", "TheMatrIX") },
    );
    expect([...encoded]).toEqual([...SAMPLE_LONG_TERM_REQUEST]);
  });

  it("computes FINGERPRINT as the CRC-32 of what precedes it, XOR 0x5354554e", () => {
    expect((crc32(SAMPLE_REQUEST.subarray(0, SAMPLE_REQUEST.length - 8)) ^ 0x5354554e) >>> 0).toBe(0xe57a3bcf);
    expect(crc32(text("123456789"))).toBe(0xcbf43926);
  });
});

describe("decoding what a TCP stream delivers", () => {
  it("sizes a message from its header, before all of it has arrived", () => {
    expect(messageSize(SAMPLE_REQUEST.subarray(0, 19))).toBeUndefined();
    expect(messageSize(SAMPLE_REQUEST.subarray(0, 20))).toBe(108);
  });

  it.each([
    ["a short header", SAMPLE_REQUEST.subarray(0, 12), /shorter than a STUN header/],
    ["a length that does not match", SAMPLE_REQUEST.subarray(0, 100), /does not match/],
    ["no magic cookie", Uint8Array.from(SAMPLE_REQUEST, (byte, i) => (i === 4 ? 0 : byte)), /magic cookie/],
    ["the first bits set", Uint8Array.from(SAMPLE_REQUEST, (byte, i) => (i === 0 ? 0xc0 : byte)), /first two bits/],
    ["a wrong FINGERPRINT", Uint8Array.from(SAMPLE_REQUEST, (byte, i) => (i === 107 ? byte ^ 1 : byte)), /FINGERPRINT/],
  ])("refuses %s", (_what, input, message) => {
    expect(() => decodeMessage(input)).toThrow(StunDecodeError);
    expect(() => decodeMessage(input)).toThrow(message);
  });

  it("round-trips a request with integrity and fingerprint, and reads ERROR-CODE", async () => {
    const key = await longTermKey("1795521600:turn-health-check", "turn.test", "password");
    const request = await encodeMessage(
      { type: MessageType.AllocateError, transactionId: new Uint8Array(12).fill(7), attributes: [{ type: Attribute.ErrorCode, value: new Uint8Array([0, 0, 4, 1, ...text("Unauthorized")]) }] },
      { integrityKey: key, fingerprint: true },
    );
    const decoded = decodeMessage(request);
    expect(errorCodeOf(decoded)).toEqual({ code: 401, reason: "Unauthorized" });
    expect(await verifyIntegrity(request, key)).toBe(true);
  });
});
