import { z } from "@hono/zod-openapi";

/**
 * A user id (a JWT's `sub`): it becomes part of the TURN username (`<expiry>:<sub>`, at most
 * 513 bytes in STUN), so it is bounded (200 characters, 400 bytes of UTF-8) and free of control
 * characters and spaces. (KV keys carry a digest of it, never the id itself.)
 */
export const USER_ID = /^[^\p{Cc}\s]{1,200}$/u;
const USER_ID_MAX_BYTES = 400;

const withinUserIdBytes = (value: string): boolean => new TextEncoder().encode(value).length <= USER_ID_MAX_BYTES;

export const isUserId = (value: string): boolean => USER_ID.test(value) && withinUserIdBytes(value);

export const UserIdSchema = z
  .string()
  .regex(USER_ID, "must be a user id of 1 to 200 printable characters")
  .refine(withinUserIdBytes, `must be at most ${USER_ID_MAX_BYTES} bytes of UTF-8`);

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
