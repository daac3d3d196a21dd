import { SignJWT } from "jose";

/**
 * An HS256 token for a `wrangler dev` started with `AUTH_JWT_SECRET=secret`, as the node tests,
 * the browser tests and the benchmarks need one. Plain TypeScript (no parameter properties):
 * the benchmarks run it with Node's type stripping.
 */
export function hs256Token(secret: string, sub: string, options: { scope?: string; expiresIn?: string } = {}): Promise<string> {
  return new SignJWT({ sub, ...(options.scope ? { scope: options.scope } : {}) })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime(options.expiresIn ?? "10m")
    .sign(new TextEncoder().encode(secret));
}
