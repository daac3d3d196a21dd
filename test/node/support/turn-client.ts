import { createHash, createHmac, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect } from "node:net";

/**
 * A minimal TURN client (RFC 8656 Allocate with long-term credentials, over UDP or TCP), enough
 * to read the exact answer coturn gives to a credential: success with a relayed address, or the
 * ERROR-CODE (401 Unauthorized, 403, 438 Stale Nonce, 442 Unsupported Transport...).
 * `turnutils_uclient` proves the relay carries data; this proves *why* an allocation is refused.
 */
export type AllocateOutcome =
  | { ok: true; relayed: string; permissions: Record<string, { ok: true } | { ok: false; code: number; reason: string }> }
  | { ok: false; code: number; reason: string };

const MAGIC_COOKIE = 0x2112a442;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;
const REFRESH_REQUEST = 0x0004;
const CREATE_PERMISSION_REQUEST = 0x0008;
const CREATE_PERMISSION_SUCCESS = 0x0108;
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  LIFETIME: 0x000d,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_PEER_ADDRESS: 0x0012,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
} as const;

interface Attribute {
  type: number;
  value: Buffer;
}

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

function message(type: number, transactionId: Buffer, attributes: Buffer[], integrityKey?: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  let body = Buffer.concat(attributes);
  if (integrityKey) {
    // The length field must already count the MESSAGE-INTEGRITY attribute (24 bytes) when hashing.
    header.writeUInt16BE(body.length + 24, 2);
    const mac = createHmac("sha1", integrityKey).update(Buffer.concat([header, body])).digest();
    body = Buffer.concat([body, attribute(ATTR.MESSAGE_INTEGRITY, mac)]);
  }
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function parse(packet: Buffer): { type: number; transactionId: Buffer; attributes: Attribute[] } {
  const type = packet.readUInt16BE(0);
  const length = packet.readUInt16BE(2);
  const attributes: Attribute[] = [];
  for (let offset = 20; offset + 4 <= 20 + length; ) {
    const attrType = packet.readUInt16BE(offset);
    const attrLength = packet.readUInt16BE(offset + 2);
    attributes.push({ type: attrType, value: packet.subarray(offset + 4, offset + 4 + attrLength) });
    offset += 4 + Math.ceil(attrLength / 4) * 4;
  }
  return { type, transactionId: packet.subarray(8, 20), attributes };
}

const find = (attributes: Attribute[], type: number) => attributes.find((candidate) => candidate.type === type)?.value;

function errorOf(attributes: Attribute[]): { code: number; reason: string } {
  const value = find(attributes, ATTR.ERROR_CODE);
  if (!value) return { code: 0, reason: "no ERROR-CODE" };
  return { code: (value[2]! & 0x07) * 100 + value[3]!, reason: value.subarray(4).toString("utf8") };
}

/** A request/response exchange with the TURN server over one UDP socket or one TCP connection. */
interface Connection {
  exchange: (packet: Buffer) => Promise<ReturnType<typeof parse>>;
  close: () => void;
}

function udpConnection(server: { host: string; port: number }, timeoutMs: number): Connection {
  const socket = createSocket("udp4");
  const exchange = (packet: Buffer) =>
    new Promise<ReturnType<typeof parse>>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.off("message", onMessage);
        reject(new Error(`no answer from TURN server ${server.host}:${server.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (data: Buffer) => {
        clearTimeout(timer);
        socket.off("message", onMessage);
        resolve(parse(data));
      };
      socket.on("message", onMessage);
      socket.send(packet, server.port, server.host);
    });
  return { exchange, close: () => socket.close() };
}

/** STUN over TCP: messages follow each other on the stream, each sized by its header. */
async function tcpConnection(server: { host: string; port: number }, timeoutMs: number): Promise<Connection> {
  const socket = connect({ host: server.host, port: server.port });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no TCP connection to ${server.host}:${server.port} within ${timeoutMs} ms`)), timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    socket.destroy();
    throw error;
  }
  let buffered = Buffer.alloc(0);
  let waiting: ((message: Buffer) => void) | undefined;
  const deliver = () => {
    if (!waiting || buffered.length < 20) return;
    const size = 20 + buffered.readUInt16BE(2);
    if (buffered.length < size) return;
    const next = buffered.subarray(0, size);
    buffered = buffered.subarray(size);
    const take = waiting;
    waiting = undefined;
    take(next);
  };
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    deliver();
  });
  // A reset after connecting surfaces as a request without an answer (bounded by timeoutMs).
  socket.on("error", () => undefined);
  const exchange = (packet: Buffer) =>
    new Promise<ReturnType<typeof parse>>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting = undefined;
        reject(new Error(`no answer from TURN server ${server.host}:${server.port} over TCP within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting = (message) => {
        clearTimeout(timer);
        resolve(parse(message));
      };
      socket.write(packet);
      deliver();
    });
  return { exchange, close: () => socket.destroy() };
}

/** An IPv4 XOR-PEER-ADDRESS value. */
function xorPeer(ip: string, port: number): Buffer {
  const value = Buffer.alloc(8);
  value[1] = 0x01;
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  ip.split(".").forEach((octet, i) => (value[4 + i] = Number(octet) ^ ((MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff)));
  return value;
}

function xorAddress(value: Buffer): string {
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const ip = [0, 1, 2, 3].map((i) => value[4 + i]! ^ ((MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff)).join(".");
  return `${ip}:${port}`;
}

/**
 * Asks the TURN server at `host:port` for an allocation with `username`/`password`, answering
 * the first 401 challenge with the long-term credential; then asks for a permission towards each
 * peer IPv4 address of `permit`. A permission only installs a filter: coturn sends nothing to a
 * peer until the client relays data, which this client never does. Releases the allocation on
 * success. `transport` is how the client reaches the server (UDP, or TCP as `?transport=tcp`);
 * `relay` is the REQUESTED-TRANSPORT of the allocation (UDP as WebRTC asks, or TCP as RFC 6062,
 * which needs a TCP connection to the server). Bounded: each request waits at most `timeoutMs`.
 */
export async function allocate(
  server: { host: string; port: number },
  credential: { username: string; password: string },
  options: { permit?: string[]; timeoutMs?: number; transport?: "udp" | "tcp"; relay?: "udp" | "tcp" } = {},
): Promise<AllocateOutcome> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const connection = options.transport === "tcp" ? await tcpConnection(server, timeoutMs) : udpConnection(server, timeoutMs);
  const { exchange } = connection;
  // REQUESTED-TRANSPORT holds an IP protocol number: 17 UDP, 6 TCP.
  const transport = attribute(ATTR.REQUESTED_TRANSPORT, Buffer.from([options.relay === "tcp" ? 6 : 17, 0, 0, 0]));
  try {
    const challenge = await exchange(message(ALLOCATE_REQUEST, randomBytes(12), [transport]));
    if (challenge.type !== ALLOCATE_ERROR) return { ok: false, code: 0, reason: `unexpected message type ${challenge.type}` };
    const first = errorOf(challenge.attributes);
    const realm = find(challenge.attributes, ATTR.REALM);
    const nonce = find(challenge.attributes, ATTR.NONCE);
    if (first.code !== 401 || !realm || !nonce) return { ok: false, ...first };

    const key = createHash("md5").update(`${credential.username}:${realm.toString("utf8")}:${credential.password}`).digest();
    const identity = [
      transport,
      attribute(ATTR.USERNAME, Buffer.from(credential.username, "utf8")),
      attribute(ATTR.REALM, realm),
      attribute(ATTR.NONCE, nonce),
    ];
    const answer = await exchange(message(ALLOCATE_REQUEST, randomBytes(12), identity, key));
    if (answer.type === ALLOCATE_SUCCESS) {
      const relayed = find(answer.attributes, ATTR.XOR_RELAYED_ADDRESS);
      const permissions: Record<string, { ok: true } | { ok: false; code: number; reason: string }> = {};
      for (const peer of options.permit ?? []) {
        const reply = await exchange(
          message(CREATE_PERMISSION_REQUEST, randomBytes(12), [attribute(ATTR.XOR_PEER_ADDRESS, xorPeer(peer, 9)), ...identity.slice(1)], key),
        );
        permissions[peer] = reply.type === CREATE_PERMISSION_SUCCESS ? { ok: true } : { ok: false, ...errorOf(reply.attributes) };
      }
      // Release the allocation (Refresh with LIFETIME 0) so tests leave nothing behind.
      const release = [
        attribute(ATTR.LIFETIME, Buffer.from([0, 0, 0, 0])),
        ...identity.slice(1),
      ];
      await exchange(message(REFRESH_REQUEST, randomBytes(12), release, key)).catch(() => undefined);
      return { ok: true, relayed: relayed ? xorAddress(relayed) : "unknown", permissions };
    }
    return { ok: false, ...errorOf(answer.attributes) };
  } finally {
    connection.close();
  }
}
