import { z } from "@hono/zod-openapi";

/**
 * A user id (a JWT's `sub`): it becomes part of the TURN username (`<expiry>:<sub>`, at most
 * 513 bytes in STUN) and of KV keys, so it is bounded and free of control characters and spaces.
 */
export const USER_ID = /^[^\p{Cc}\s]{1,200}$/u;

export const UserIdSchema = z.string().regex(USER_ID, "must be a user id of 1 to 200 printable characters");

/**
 * `bytes` random bytes as unpadded base64url: call ids (16 bytes, 22 characters, unguessable)
 * and connection ids (12 bytes, 16 characters).
 */
export function randomId(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...random)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
