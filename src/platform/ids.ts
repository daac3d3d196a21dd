import { z } from "@hono/zod-openapi";

/**
 * A user id (a JWT's `sub`): it becomes part of the TURN username (`<expiry>:<sub>`, at most
 * 513 bytes in STUN), so it is bounded (200 characters, 400 bytes of UTF-8) and free of control
 * characters and spaces. It must be well-formed Unicode: UTF-8 has no lone surrogate, so
 * `"v\ud800"` would encode as `"v\ufffd"`, and two users would share one device store (KV keys
 * carry a digest of the id's UTF-8, never the id itself).
 */
export const USER_ID = /^[^\p{Cc}\s]{1,200}$/u;
const USER_ID_MAX_BYTES = 400;

/** UTF-8 bytes of `value` (lone surrogates, which UTF-8 cannot carry, are refused before this counts). */
export const utf8Bytes = (value: string): number => encoder.encode(value).byteLength;
const encoder = new TextEncoder();

const withinUserIdBytes = (value: string): boolean => utf8Bytes(value) <= USER_ID_MAX_BYTES;

export const isUserId = (value: string): boolean => value.isWellFormed() && USER_ID.test(value) && withinUserIdBytes(value);

/** A string that is well-formed Unicode (no lone surrogate): what every text a client sends must be. */
export const WellFormedString = z.string().refine((value) => value.isWellFormed(), "must be well-formed Unicode (no lone surrogates)");

export const UserIdSchema = WellFormedString.regex(USER_ID, "must be a user id of 1 to 200 printable characters").refine(
  withinUserIdBytes,
  `must be at most ${USER_ID_MAX_BYTES} bytes of UTF-8`,
);

/**
 * `bytes` random bytes as unpadded base64url: call ids (16 bytes, 22 characters, unguessable)
 * and connection ids (12 bytes, 16 characters).
 */
export function randomId(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Unpadded base64url of some bytes. */
export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
