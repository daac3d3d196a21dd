/**
 * The Worker's TURN credentials against a real coturn (Debian's `turnserver`, started here on
 * 127.0.0.1 with `use-auth-secret`), fetched over HTTP from a real `wrangler dev`:
 * - a credential from the Worker gets an allocation, and data relays to an echo peer (UDP and TCP);
 * - without `no-tcp-relay`, coturn grants a TCP relay allocation (the control for turn-infra's
 *   production configuration, which refuses it);
 * - after a rotation, credentials signed with the *second* secret still work;
 * - expired, tampered and removed-secret credentials are refused with 401.
 * It does not cover TLS (`turns:`) or coturn ≥ 4.17 behaviour; turn-infra's tests render the
 * production configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { turnPassword } from "../../src/turn/credentials";
import { allocate } from "./support/turn-client";
import { hs256Token } from "./support/tokens";
import { freePort, relayThroughTurn, startCoturn, startEchoPeer, startWrangler, type Running } from "./support/processes";

// Hex, as turn-infra generates them: coturn strips quotes and whitespace from secrets.
const OLD_SECRET = "6f6c642d7475726e2d7365637265742d3031";
const NEW_SECRET = "6e65772d7475726e2d7365637265742d3032";
const JWT_SECRET = "coturn-test-hs256-secret-0123456789abcdef0123";

interface IceBody {
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  ttl: number;
  region: string;
}

let turnPort: number;
let peerPort: number;
let coturn: Running;
let peer: Running;
let beforeRotation: Running & { url: string };
let afterRotation: Running & { url: string };

const workerVars = (secrets: string) => ({
  AUTH_JWT_SECRET: JWT_SECRET,
  TURN_SECRETS: secrets,
  CORS_ALLOWED_ORIGINS: "*",
  TURN_POOLS: JSON.stringify([
    {
      region: "local",
      location: { latitude: 0, longitude: 0 },
      urls: [`turn:127.0.0.1:${turnPort}?transport=udp`, `turn:127.0.0.1:${turnPort}?transport=tcp`],
    },
  ]),
});

async function iceServersFrom(worker: { url: string }, userId: string, ttl?: number) {
  const token = await hs256Token(JWT_SECRET, userId);
  const response = await fetch(`${worker.url}/v1/calls/ice-servers${ttl ? `?ttl=${ttl}` : ""}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as IceBody;
  const turn = body.iceServers.find((server) => server.username)!;
  const url = new URL(turn.urls[0]!.replace("turn:", "turn://"));
  return { username: turn.username!, password: turn.credential!, server: { host: url.hostname, port: Number(url.port) } };
}

beforeAll(async () => {
  turnPort = await freePort();
  peerPort = await freePort();
  [coturn, peer, beforeRotation, afterRotation] = await Promise.all([
    startCoturn({ secrets: [NEW_SECRET, OLD_SECRET], port: turnPort }),
    startEchoPeer(peerPort),
    startWrangler(workerVars(OLD_SECRET)),
    startWrangler(workerVars(`${NEW_SECRET},${OLD_SECRET}`)),
  ]);
});

afterAll(async () => {
  await Promise.all([coturn?.stop(), peer?.stop(), beforeRotation?.stop(), afterRotation?.stop()]);
});

describe("a credential from the Worker", () => {
  it("points at the coturn and gets an allocation", async () => {
    const credential = await iceServersFrom(afterRotation, "alice");
    expect(credential.server).toEqual({ host: "127.0.0.1", port: turnPort });
    // This coturn allows loopback peers, so the permission is granted: the control for
    // turn-infra.test.ts, where the production configuration refuses the same request.
    const outcome = await allocate(credential.server, credential, { permit: ["127.0.0.1"] });
    expect(outcome).toEqual({ ok: true, relayed: expect.stringMatching(/^127\.0\.0\.1:\d+$/), permissions: { "127.0.0.1": { ok: true } } });
  });

  it("relays data to a peer over UDP (turnutils_uclient)", async () => {
    const credential = await iceServersFrom(afterRotation, "alice");
    const run = await relayThroughTurn({ ...credential, peerPort });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/Total lost packets 0 /);
  });

  it("gets a TCP relay allocation (RFC 6062) from a coturn without no-tcp-relay", async () => {
    // The control for turn-infra.test.ts, where the production configuration refuses it (442).
    const credential = await iceServersFrom(afterRotation, "dave");
    expect(await allocate(credential.server, credential, { transport: "tcp", relay: "tcp" })).toMatchObject({ ok: true });
  });

  it("relays data to a peer over TCP to the TURN server", async () => {
    const credential = await iceServersFrom(afterRotation, "bob", 600);
    const run = await relayThroughTurn({ ...credential, peerPort, tcp: true });
    expect(run.code, run.output).toBe(0);
  });
});

describe("rotation", () => {
  it("still accepts a credential signed with the second secret", async () => {
    const credential = await iceServersFrom(beforeRotation, "carol");
    expect(credential.password).toBe(await turnPassword(OLD_SECRET, credential.username));
    expect(await allocate(credential.server, credential)).toMatchObject({ ok: true });
    const run = await relayThroughTurn({ ...credential, peerPort });
    expect(run.code, run.output).toBe(0);
  });
});

describe("refusals", () => {
  it("refuses an expired credential with 401", async () => {
    const username = `${Math.floor(Date.now() / 1000) - 5}:alice`;
    const password = await turnPassword(NEW_SECRET, username);
    expect(await allocate({ host: "127.0.0.1", port: turnPort }, { username, password })).toMatchObject({ ok: false, code: 401 });
  });

  it("refuses a credential whose user id or expiry was changed", async () => {
    const credential = await iceServersFrom(afterRotation, "alice");
    const [expiry] = credential.username.split(":");
    for (const username of [`${expiry}:mallory`, `${Number(expiry) + 86_400}:alice`]) {
      expect(await allocate(credential.server, { username, password: credential.password })).toMatchObject({ ok: false, code: 401 });
    }
  });

  it("refuses a credential with a tampered password", async () => {
    const credential = await iceServersFrom(afterRotation, "alice");
    const password = `${credential.password.slice(0, 4)}${credential.password[4] === "A" ? "B" : "A"}${credential.password.slice(5)}`;
    expect(await allocate(credential.server, { ...credential, password })).toMatchObject({ ok: false, code: 401 });
    const run = await relayThroughTurn({ ...credential, password, peerPort, timeoutMs: 15_000 });
    expect(run.code).not.toBe(0);
  });

  it("refuses a credential signed by a secret coturn no longer has", async () => {
    const old = await iceServersFrom(beforeRotation, "carol");
    const current = await iceServersFrom(afterRotation, "carol");
    await coturn.stop();
    coturn = await startCoturn({ secrets: [NEW_SECRET], port: turnPort });
    expect(await allocate(old.server, old)).toMatchObject({ ok: false, code: 401 });
    expect(await allocate(current.server, current)).toMatchObject({ ok: true });
  });
});
