// Mints a development token for `wrangler dev`: HS256 with AUTH_JWT_SECRET from .dev.vars.
//   npm run token -- alice                  one hour, sub=alice
//   npm run token -- alice --ttl 600 --scope push:send
//   npm run token -- ops --scope admin       for npm run check:push (POST /v1/admin/push/check)
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";

const USAGE = `usage: npm run token -- <userId> [--ttl seconds] [--scope 'push:send admin']
  Prints an HS256 JWT for wrangler dev, signed with AUTH_JWT_SECRET from .dev.vars
  (or .dev.vars.example). --ttl: lifetime in seconds (default 3600); --scope: the scope claim.`;

let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: { ttl: { type: "string", default: "3600" }, scope: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
} catch (error) {
  // An unknown option or a missing value: say which, then how to call it (no stack trace).
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}
const { values, positionals } = args;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const [userId] = positionals;
if (!userId || !/^\d+$/.test(values.ttl)) {
  console.error(USAGE);
  process.exit(2);
}

const file = existsSync(".dev.vars") ? ".dev.vars" : ".dev.vars.example";
const line = readFileSync(file, "utf8")
  .split("\n")
  .find((entry) => entry.startsWith("AUTH_JWT_SECRET="));
if (!line) {
  console.error(`AUTH_JWT_SECRET is not set in ${file}`);
  process.exit(1);
}
const secret = line.slice("AUTH_JWT_SECRET=".length).trim().replace(/^"(.*)"$/, "$1");

const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ sub: userId, ...(values.scope ? { scope: values.scope } : {}) })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setIssuedAt(now)
  .setExpirationTime(now + Number(values.ttl))
  .sign(new TextEncoder().encode(secret));
console.log(token);
