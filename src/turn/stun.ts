/**
 * STUN and TURN messages (RFC 8489, RFC 8656), as much as the TURN health check needs: encode a
 * request with MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT (CRC-32), decode an answer, read
 * ERROR-CODE, REALM, NONCE and XOR-MAPPED-ADDRESS, and derive the long-term credential key
 * MD5(username:realm:password). Pure apart from WebCrypto; no sockets here (probe.ts).
 */

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_BYTES = 20;

/** Message types: method and class packed as RFC 8489 section 5 lays them out. */
export const MessageType = {
  BindingRequest: 0x0001,
  BindingSuccess: 0x0101,
  BindingError: 0x0111,
  AllocateRequest: 0x0003,
  AllocateSuccess: 0x0103,
  AllocateError: 0x0113,
  RefreshRequest: 0x0004,
  RefreshSuccess: 0x0104,
} as const;

export const Attribute = {
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  Lifetime: 0x000d,
  Realm: 0x0014,
  Nonce: 0x0015,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

/** REQUESTED-TRANSPORT holds an IP protocol number: 17 is UDP, what WebRTC allocates. */
export const UDP_TRANSPORT = new Uint8Array([17, 0, 0, 0]);

const FINGERPRINT_XOR = 0x5354554e;
const INTEGRITY_BYTES = 20;

export interface StunAttribute {
  type: number;
  value: Uint8Array;
}

export interface StunMessage {
  type: number;
  transactionId: Uint8Array;
  attributes: StunAttribute[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A fresh 96-bit transaction id. */
export const newTransactionId = () => crypto.getRandomValues(new Uint8Array(12));

export const text = (value: string) => encoder.encode(value);

/**
 * The long-term credential key (RFC 8489 section 9.2.2, MD5 variant):
 * MD5(username ":" realm ":" password), the username and password as given (coturn's TURN REST
 * credentials are ASCII, so SASLprep changes nothing). Workers' `crypto.subtle` supports MD5.
 */
export async function longTermKey(username: string, realm: string, password: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("MD5", encoder.encode(`${username}:${realm}:${password}`)));
}

function attributeBytes(type: number, value: Uint8Array): Uint8Array {
  // Values are padded to 4 bytes with zeros (RFC 8489 section 14); the length field is unpadded.
  const out = new Uint8Array(4 + Math.ceil(value.length / 4) * 4);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint16(2, value.length);
  out.set(value, 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Encodes a message. With `integrityKey`, MESSAGE-INTEGRITY follows the attributes, its HMAC
 * taken over the message with the length field already counting it (RFC 8489 section 14.5);
 * with `fingerprint`, FINGERPRINT comes last, the CRC-32 of everything before it XOR 0x5354554e.
 *
 * @example
 * await encodeMessage({ type: MessageType.BindingRequest, transactionId: newTransactionId(), attributes: [] }, { fingerprint: true });
 */
export async function encodeMessage(message: StunMessage, options: { integrityKey?: Uint8Array; fingerprint?: boolean } = {}): Promise<Uint8Array> {
  let body = concat(message.attributes.map((attribute) => attributeBytes(attribute.type, attribute.value)));
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint16(0, message.type);
  view.setUint32(4, MAGIC_COOKIE);
  header.set(message.transactionId, 8);
  if (options.integrityKey) {
    view.setUint16(2, body.length + 4 + INTEGRITY_BYTES);
    const key = await crypto.subtle.importKey("raw", options.integrityKey, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, concat([header, body])));
    body = concat([body, attributeBytes(Attribute.MessageIntegrity, mac)]);
  }
  if (options.fingerprint) {
    view.setUint16(2, body.length + 8);
    const crc = (crc32(concat([header, body])) ^ FINGERPRINT_XOR) >>> 0;
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, crc);
    body = concat([body, attributeBytes(Attribute.Fingerprint, value)]);
  }
  view.setUint16(2, body.length);
  return concat([header, body]);
}

/** Why bytes are not a STUN message. */
export class StunDecodeError extends Error {
  override readonly name = "StunDecodeError";
}

/**
 * The size of the message at the start of `bytes` (20 + its length field), or undefined while
 * fewer than 20 bytes have arrived. Over TCP STUN messages follow each other unframed
 * (RFC 8489 section 6.2.2): this is how a reader knows where one ends.
 */
export function messageSize(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_BYTES) return undefined;
  return HEADER_BYTES + new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(2);
}

/**
 * Decodes one whole message. Checks what makes bytes STUN (two zero bits, the magic cookie, a
 * length that is a multiple of 4 and fits) and, when FINGERPRINT is present, its CRC-32.
 */
export function decodeMessage(bytes: Uint8Array): StunMessage {
  if (bytes.length < HEADER_BYTES) throw new StunDecodeError(`${bytes.length} bytes is shorter than a STUN header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(0);
  const length = view.getUint16(2);
  if (type & 0xc000) throw new StunDecodeError("the first two bits of a STUN message are zero");
  if (view.getUint32(4) !== MAGIC_COOKIE) throw new StunDecodeError("no STUN magic cookie");
  if (length % 4 !== 0 || HEADER_BYTES + length !== bytes.length) throw new StunDecodeError(`length field ${length} does not match ${bytes.length} bytes`);
  const attributes: StunAttribute[] = [];
  for (let offset = HEADER_BYTES; offset < bytes.length; ) {
    if (offset + 4 > bytes.length) throw new StunDecodeError("truncated attribute header");
    const attributeType = view.getUint16(offset);
    const attributeLength = view.getUint16(offset + 2);
    if (offset + 4 + attributeLength > bytes.length) throw new StunDecodeError(`attribute 0x${attributeType.toString(16)} overruns the message`);
    if (attributeType === Attribute.Fingerprint) {
      const expected = (crc32(bytes.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
      if (attributeLength !== 4 || view.getUint32(offset + 4) !== expected) throw new StunDecodeError("FINGERPRINT does not match");
    }
    attributes.push({ type: attributeType, value: bytes.slice(offset + 4, offset + 4 + attributeLength) });
    offset += 4 + Math.ceil(attributeLength / 4) * 4;
  }
  return { type, transactionId: bytes.slice(8, 20), attributes };
}

/**
 * Whether `bytes` (one whole message) carries a MESSAGE-INTEGRITY that `key` produced: the HMAC
 * over the message up to that attribute, with the length field as if it ended right after it.
 */
export async function verifyIntegrity(bytes: Uint8Array, key: Uint8Array): Promise<boolean> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = HEADER_BYTES; offset + 4 <= bytes.length; ) {
    const type = view.getUint16(offset);
    const length = view.getUint16(offset + 2);
    if (type === Attribute.MessageIntegrity && length === INTEGRITY_BYTES) {
      const signed = bytes.slice(0, offset);
      new DataView(signed.buffer).setUint16(2, offset + 4 + INTEGRITY_BYTES - HEADER_BYTES);
      const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["verify"]);
      return crypto.subtle.verify("HMAC", hmac, bytes.slice(offset + 4, offset + 4 + INTEGRITY_BYTES), signed);
    }
    offset += 4 + Math.ceil(length / 4) * 4;
  }
  return false;
}

export const attributeOf = (message: StunMessage, type: number) => message.attributes.find((attribute) => attribute.type === type)?.value;

export const textOf = (message: StunMessage, type: number) => {
  const value = attributeOf(message, type);
  return value === undefined ? undefined : decoder.decode(value);
};

/** ERROR-CODE as `{code, reason}` (class × 100 + number), or undefined when absent. */
export function errorCodeOf(message: StunMessage): { code: number; reason: string } | undefined {
  const value = attributeOf(message, Attribute.ErrorCode);
  if (!value || value.length < 4) return undefined;
  return { code: (value[2]! & 0x07) * 100 + value[3]!, reason: decoder.decode(value.subarray(4)) };
}

/** The XOR-MAPPED-ADDRESS (what the host saw of us) as `ip:port`, IPv6 as `[ip]:port`. */
export function xorAddressOf(message: StunMessage): string | undefined {
  const value = attributeOf(message, Attribute.XorMappedAddress);
  if (!value || value.length < 8) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const port = view.getUint16(2) ^ (MAGIC_COOKIE >>> 16);
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE);
  mask.set(message.transactionId, 4);
  if (value[1] === 0x01) return `${[0, 1, 2, 3].map((i) => value[4 + i]! ^ mask[i]!).join(".")}:${port}`;
  if (value[1] === 0x02 && value.length >= 20) {
    const words = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => (((value[4 + 2 * i]! ^ mask[2 * i]!) << 8) | (value[5 + 2 * i]! ^ mask[2 * i + 1]!)).toString(16));
    return `[${words.join(":")}]:${port}`;
  }
  return undefined;
}

export const sameTransaction = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as FINGERPRINT uses it). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
