/**
 * A browser's side of Web Push encryption (RFC 8291 over RFC 8188's `aes128gcm`), in Web Crypto
 * only, so the fake push service (Node) and the Workers tests share it: new subscription keys, and
 * the decryption of a message body with them. Checked against RFC 8291's Appendix A example in
 * test/push/webpush.test.ts, so a fake that decrypts what the Worker sent proves the Worker
 * encrypted it as a browser expects.
 */

export interface BrowserKeys {
  /** The subscription's ECDH private key (never leaves the "browser"). */
  privateKey: CryptoKey;
  /** `keys.p256dh`: the uncompressed public point, 65 bytes. */
  publicKey: Uint8Array;
  /** `keys.auth`: 16 random bytes. */
  auth: Uint8Array;
}

export const toBase64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
export const fromBase64url = (text: string) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

/** New subscription keys, as a browser makes them for `pushManager.subscribe`. */
export async function newBrowserKeys(): Promise<BrowserKeys> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  return {
    privateKey: pair.privateKey,
    publicKey: new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer),
    auth: crypto.getRandomValues(new Uint8Array(16)),
  };
}

/** Subscription keys from their parts (base64url): the private scalar and the public point. */
export async function browserKeysOf(privateScalar: string, publicKey: string, auth: string): Promise<BrowserKeys> {
  const point = fromBase64url(publicKey);
  const jwk = { kty: "EC", crv: "P-256", d: privateScalar, x: toBase64url(point.slice(1, 33)), y: toBase64url(point.slice(33, 65)) };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  return { privateKey, publicKey: point, auth: fromBase64url(auth) };
}

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8));
}

const text = (value: string) => new TextEncoder().encode(value);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/**
 * Decrypts one `aes128gcm` message body for `keys`: the header (salt, record size, the sender's
 * ephemeral public key as key id), then a single record whose padding ends in the last-record
 * delimiter 2. Throws on anything a browser would refuse.
 */
export async function decryptWebPush(body: Uint8Array, keys: BrowserKeys): Promise<Uint8Array> {
  if (body.length < 21) throw new Error("body shorter than the aes128gcm header");
  const salt = body.slice(0, 16);
  const recordSize = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0);
  const idLength = body[20]!;
  const senderPublic = body.slice(21, 21 + idLength);
  const record = body.slice(21 + idLength);
  if (idLength !== 65 || senderPublic[0] !== 4) throw new Error("key id is not an uncompressed P-256 point");
  if (record.length > recordSize) throw new Error(`more than one record (${record.length} bytes, record size ${recordSize})`);
  const sender = await crypto.subtle.importKey("raw", senderPublic, { name: "ECDH", namedCurve: "P-256" }, false, []);
  // `public` is Web Crypto's name (workerd's types call it `$public`; the runtime takes `public`).
  const ecdh = { name: "ECDH", public: sender } as unknown as SubtleCryptoDeriveKeyAlgorithm;
  const shared = new Uint8Array(await crypto.subtle.deriveBits(ecdh, keys.privateKey, 256));
  // RFC 8291 §3.4: the input keying material binds both public keys and the auth secret.
  const ikm = await hkdf(keys.auth, shared, concat(text("WebPush: info\0"), keys.publicKey, senderPublic), 32);
  const cek = await hkdf(salt, ikm, text("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, text("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, record));
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 2) throw new Error("no last-record delimiter");
  return padded.slice(0, end);
}
