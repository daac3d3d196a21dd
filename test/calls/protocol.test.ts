/**
 * The signaling frames a client may send (one zod union), and the errors for every bad kind.
 */
import { describe, expect, it } from "vitest";
import { subprotocolToken } from "../../src/auth/subprotocol";
import { jsonDepth, parseClientFrame } from "../../src/calls/protocol";

describe("jsonDepth", () => {
  it.each([
    ["1", 0],
    ['"[[[{"', 0],
    ['{"a":[1,{"b":[]}]}', 4],
    ['{"a":"\\"[[[","b":[]}', 2],
    ['{"a":"\\\\","b":[[]]}', 3],
  ])("counts %s as %i levels, brackets in strings aside", (text, depth) => {
    expect(jsonDepth(text)).toBe(depth);
  });
});

describe("parseClientFrame", () => {
  it.each([
    ['{"type":"offer","sdp":"v=0\\r\\n"}'],
    ['{"type":"answer","sdp":"v=0\\r\\n","to":"AAAAAAAAAAAAAAAA"}'],
    ['{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host","sdpMid":"0","sdpMLineIndex":0}}'],
    ['{"type":"candidate","candidate":null}'],
    ['{"type":"candidate","candidate":{"sdpMid":"0"}}'],
    ['{"type":"candidate","candidate":{"candidate":"","sdpMid":"0","sdpMLineIndex":0}}'],
    ['{"type":"message","data":{"muted":true,"n":[1,2]}}'],
    ['{"type":"accept"}'],
    ['{"type":"decline"}'],
    ['{"type":"hangup"}'],
    ['{"type":"ping"}'],
  ])("accepts %s", (text) => {
    expect(parseClientFrame(text)).toMatchObject({ ok: true, frame: JSON.parse(text) });
  });

  it.each([
    ["not JSON", "{type: offer}", "frame is not valid JSON"],
    ["a JSON array", "[]", "frame must be a JSON object"],
    ["a JSON string", '"offer"', "frame must be a JSON object"],
    ["no type", '{"sdp":"v=0"}', "frame has no type"],
    ["an unknown type", '{"type":"shout"}', 'unknown frame type "shout"'],
    ["a server-only type", '{"type":"welcome"}', 'unknown frame type "welcome"'],
    ["a missing sdp", '{"type":"offer"}', "sdp:"],
    ["an sdp of the wrong type", '{"type":"answer","sdp":42}', "sdp:"],
    ["an empty sdp", '{"type":"offer","sdp":""}', "sdp: must not be empty"],
    ["a candidate that is a string", '{"type":"candidate","candidate":"candidate:1"}', "candidate:"],
    ["a bad recipient", '{"type":"offer","sdp":"v=0","to":"bob"}', "to: must be a connection id"],
    ["extra fields on accept", '{"type":"accept","reason":"x"}', "reason"],
  ])("refuses %s", (_name, text, message) => {
    const parsed = parseClientFrame(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });
});

it("drops a client's own from (the server stamps it)", () => {
  expect(parseClientFrame('{"type":"offer","sdp":"v=0","from":{"userId":"admin","connectionId":"x"}}')).toEqual({
    ok: true,
    frame: { type: "offer", sdp: "v=0" },
  });
});

describe("subprotocolToken", () => {
  it.each([
    ["signal.v1, bearer.aaa.bbb.ccc", "aaa.bbb.ccc"],
    ["bearer.aaa.bbb.ccc,signal.v1", "aaa.bbb.ccc"],
    ["bearer.aaa.bbb.ccc", undefined],
    ["signal.v1", undefined],
    ["chat, superchat", undefined],
    [undefined, undefined],
  ])("%s → %s", (header, token) => {
    expect(subprotocolToken(header)).toBe(token);
  });
});
