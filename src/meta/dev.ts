import { SignJWT } from "jose";
import { z } from "zod";
import { authConfig } from "../auth/config";
import { ApiError } from "../platform/errors";
import { newRouter } from "../platform/http";

const DevTokenRequest = z.object({ userId: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "dev user ids are 1 to 64 of A-Z a-z 0-9 _ . @ -") }).strict();

/**
 * `POST /dev/token {userId}` → an HS256 token for that user, valid one hour: the demo page's
 * sign-in. Exists only with `DEV_TOKENS=on` and a shared `AUTH_JWT_SECRET` (development); in
 * every other configuration it answers 404 like any unknown route. Not in the OpenAPI document.
 */
export const devRoutes = newRouter().post("/dev/token", async (c) => {
  const auth = authConfig(c.env);
  if (!auth.devTokens || auth.kind !== "secret") throw new ApiError("not_found", `no route for POST ${c.req.path}`);
  const parsed = DevTokenRequest.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) throw new ApiError("invalid_request", parsed.error.issues.map((issue) => issue.message).join("; "));
  const token = await new SignJWT({ sub: parsed.data.userId })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(auth.secret));
  return c.json({ token, expiresIn: 3600 });
});
