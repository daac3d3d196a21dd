/**
 * `POST /v1/admin/push/check` against the fake providers (test/support/fake-push.ts), which verify
 * the OAuth assertion, the access token, the APNs provider token and the requests like the real
 * ones, and answer like them: 200 `fake_message_id` to FCM's validate_only, 400 BadDeviceToken
 * to APNs for the all-zero probe token.
 * Proves: scope `admin` before anything else; a fresh OAuth exchange on every check; nothing
 * delivered; a refused OAuth grant, a refused provider token, a missing or malformed
 * configuration and a hanging provider each reported on their own provider, without secrets.
 * Not covered: real Google and Apple, HTTP/2 to APNs (deployed Workers only), an APNs relay.
 */
import { env as testEnv } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { app } from "../../src/api";
import { PROBE_APNS_TOKEN } from "../../src/push/apns";
import { checkPush, scrub, type PushCheck } from "../../src/push/check";
import { PROBE_TOPIC } from "../../src/push/fcm";
import { pushContext } from "../../src/push/context";
import { fakeUrl, received, script } from "../support/push";
import { authHeader } from "../support/tokens";

const PATH = "/v1/admin/push/check";

// The default app alone: the second app of the test env (PUSH_APPS) has its own suite in apps.test.ts.
const env = { ...testEnv, PUSH_APPS: undefined } as unknown as Env;

// Every check logs its result (and a refused provider token a warning): keep the output quiet.
let logged: string[] = [];
beforeEach(() => {
  logged = [];
  for (const method of ["log", "warn", "error"] as const) vi.spyOn(console, method).mockImplementation((line: unknown) => void logged.push(String(line)));
});
afterEach(() => vi.restoreAllMocks());

/** The test env with its own Google token endpoint, so this test's exchanges are its own. */
function envWithOwnTokenEndpoint(): { environment: Env; tokenTarget: string } {
  const name = crypto.randomUUID();
  return { environment: { ...env, GOOGLE_TOKEN_URL: `${fakeUrl()}/token/${name}` } as unknown as Env, tokenTarget: `token:${name}` };
}

/** The check as user "ops" with `scope` (null: a token without a scope claim). */
async function check(environment: Env = env, scope: string | null = "admin", query = ""): Promise<Response> {
  const headers = await authHeader("ops", scope === null ? {} : { scope });
  return app.request(`${PATH}${query}`, { method: "POST", headers }, environment);
}

async function checked(environment: Env = env): Promise<{ body: PushCheck; text: string }> {
  const response = await check(environment);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return { body: JSON.parse(text) as PushCheck, text };
}

describe("POST /v1/admin/push/check", () => {
  it("proves both providers: a fresh access token and a validate_only send, a BadDeviceToken from APNs", async () => {
    const { environment, tokenTarget } = envWithOwnTokenEndpoint();
    const [fcmBefore, apnsBefore] = [(await received(`topic:${PROBE_TOPIC}`)).length, (await received(PROBE_APNS_TOKEN)).length];
    const { body, text } = await checked(environment);
    expect(body).toEqual({
      ok: true,
      providers: {
        fcm: { configured: true, ok: true, latencyMs: expect.any(Number), detail: expect.stringMatching(/validate_only message accepted/) },
        apns: { configured: true, ok: true, latencyMs: expect.any(Number), detail: "APNs (APNS_BASE_URL): provider token accepted; probe device token refused as expected (400 BadDeviceToken)" },
        webpush: { configured: true, ok: true, latencyMs: expect.any(Number), detail: expect.stringMatching(/^VAPID key pair consistent: .*sub mailto:ops@example.com/) },
      },
    });
    expect(await received(tokenTarget)).toEqual([expect.objectContaining({ status: 200 })]);
    const fcm = (await received(`topic:${PROBE_TOPIC}`)).slice(fcmBefore);
    const apns = (await received(PROBE_APNS_TOKEN)).slice(apnsBefore);
    expect(fcm).toEqual([expect.objectContaining({ status: 200, delivered: false, body: expect.objectContaining({ validate_only: true }) })]);
    expect(apns).toEqual([expect.objectContaining({ status: 400, delivered: false })]);
    // Neither the access token nor the provider token the fake saw is in the answer or the log.
    expect(logged).toEqual([expect.stringContaining('"event":"push_check","ok":true')]);
    for (const record of [...fcm, ...apns]) {
      const bearer = record.authorization.split(" ")[1]!.slice(0, 24);
      expect(bearer.length).toBe(24);
      expect(`${text}\n${logged.join("\n")}`).not.toContain(bearer);
    }
  });

  it("exchanges a new assertion on every check, never trusting the isolate's cached access token", async () => {
    const { environment, tokenTarget } = envWithOwnTokenEndpoint();
    await checked(environment);
    await checked(environment);
    expect((await received(tokenTarget)).map((record) => record.status)).toEqual([200, 200]);
  });

  it("records no delivery: every probe the fake got was a validation or a refusal", async () => {
    await checked();
    const probes = [...(await received(`topic:${PROBE_TOPIC}`)), ...(await received(PROBE_APNS_TOKEN))];
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.filter((record) => record.delivered)).toEqual([]);
  });

  it("answers 401 without a token", async () => {
    const response = await app.request(PATH, { method: "POST" }, env);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: "unauthorized" } });
  });

  it.each([["push:send"], ["push:send administrator"], [null]])("answers 403 to a token with scope %s, before touching a provider or the query", async (scope) => {
    const { environment, tokenTarget } = envWithOwnTokenEndpoint();
    for (const query of ["", "?apnsEnvironment=nowhere"]) {
      const response = await check(environment, scope, query);
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: "forbidden", message: expect.stringContaining("admin") } });
    }
    expect(await received(tokenTarget)).toEqual([]);
  });

  it("refuses an unknown APNs environment as invalid_request", async () => {
    const response = await check(env, "admin", "?apnsEnvironment=nowhere");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "invalid_request" } });
  });

  it("reports a refused OAuth grant on FCM alone, with Google's error and no secret", async () => {
    const { environment, tokenTarget } = envWithOwnTokenEndpoint();
    await script(tokenTarget, [{ status: 400, body: { error: "invalid_grant", error_description: "Invalid JWT Signature." } }]);
    const fcmBefore = (await received(`topic:${PROBE_TOPIC}`)).length;
    const { body, text } = await checked(environment);
    expect(body.ok).toBe(false);
    expect(body.providers.fcm).toEqual({ configured: true, ok: false, latencyMs: expect.any(Number), detail: "Google OAuth: token endpoint answered 400 invalid_grant" });
    expect(body.providers.apns).toMatchObject({ configured: true, ok: true });
    // No message went to FCM without a token.
    expect(await received(`topic:${PROBE_TOPIC}`)).toHaveLength(fcmBefore);
    expect(text).not.toContain("PRIVATE KEY");
  });

  it("reports APNs refusing the provider token (also a freshly minted one) on APNs alone", async () => {
    await script(PROBE_APNS_TOKEN, [
      { status: 403, body: { reason: "InvalidProviderToken" } },
      { status: 403, body: { reason: "InvalidProviderToken" } },
    ]);
    const { body } = await checked();
    expect(body.ok).toBe(false);
    expect(body.providers.apns).toEqual({
      configured: true,
      ok: false,
      latencyMs: expect.any(Number),
      detail: "APNs (APNS_BASE_URL): expected 400 BadDeviceToken, got 403 InvalidProviderToken (failed: APNs refused a freshly minted provider token)",
    });
    expect(body.providers.fcm).toMatchObject({ configured: true, ok: true });
  });

  it("says when a provider is not configured, and is ok with none (the log provider needs nothing)", async () => {
    const bare = {
      ...env,
      FCM_SERVICE_ACCOUNT: undefined,
      APNS_KEY: undefined,
      APNS_KEY_ID: undefined,
      APNS_TEAM_ID: undefined,
      APNS_BUNDLE_ID: undefined,
      VAPID_PUBLIC_KEY: undefined,
      VAPID_PRIVATE_KEY: undefined,
      VAPID_SUBJECT: undefined,
    } as unknown as Env;
    const { body } = await checked(bare);
    const notConfigured = { configured: false, ok: false, latencyMs: null, detail: "not configured: sends go to the log provider" };
    expect(body).toEqual({ ok: true, providers: { fcm: notConfigured, apns: notConfigured, webpush: notConfigured } });
  });

  it("reports a malformed configuration by variable name, never its value, and still checks the other provider", async () => {
    const broken = { ...env, APNS_KEY: "not a key at all" } as unknown as Env;
    const { body, text } = await checked(broken);
    expect(body.providers.apns).toEqual({ configured: true, ok: false, latencyMs: null, detail: "provider misconfigured: check APNS_KEY" });
    expect(body.providers.fcm).toMatchObject({ configured: true, ok: true });
    expect(body.ok).toBe(false);
    expect(text).not.toContain("not a key at all");
  });

  it("bounds a provider that does not answer by the timeout", async () => {
    await script(PROBE_APNS_TOKEN, [{ status: 400, body: { reason: "BadDeviceToken" }, delayMs: 5000 }]);
    const result = await checkPush(pushContext(env), { timeoutMs: 1000 });
    expect(result.providers.apns).toMatchObject({ configured: true, ok: false, detail: expect.stringMatching(/^timed out after 1000 ms/) });
  });

  it("is in the OpenAPI document with its schema", async () => {
    const doc = (await (await app.request("/openapi.json", {}, env)).json()) as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(doc.paths[PATH]).toHaveProperty("post");
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["PushCheck", "PushProviderCheck"]));
  });
});

describe("the Web Push check", () => {
  it("fails a VAPID private key that is not the public key's pair, naming both, never their values", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair;
    const other = ((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey).d!;
    const { body, text } = await checked({ ...env, VAPID_PRIVATE_KEY: other } as unknown as Env);
    expect(body.ok).toBe(false);
    expect(body.providers.webpush).toMatchObject({ configured: true, ok: false, detail: expect.stringMatching(/^VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY are not one key pair/) });
    expect(text).not.toContain(other);
  });

  it.each([
    [{ VAPID_PUBLIC_KEY: "BAAA" }, "check VAPID_PUBLIC_KEY"],
    [{ VAPID_SUBJECT: "ops@example.com" }, "check VAPID_SUBJECT"],
    [{ VAPID_SUBJECT: undefined }, "check VAPID_PRIVATE_KEY"],
  ])("reports a malformed VAPID configuration %o by variable", async (vars, detail) => {
    const { body } = await checked({ ...env, ...vars } as unknown as Env);
    expect(body.providers.webpush).toEqual({ configured: true, ok: false, latencyMs: null, detail: `provider misconfigured: ${detail}` });
    expect(body.providers.fcm).toMatchObject({ ok: true });
  });
});

describe("scrub", () => {
  it("takes credentials out of provider error text and bounds its length", () => {
    const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJURUFNIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const detail = scrub(`refused ${jwt}, Bearer abc.def, ya29.a0AfB_byC-123 -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- ok`);
    expect(detail).toBe("refused [redacted], [redacted] [redacted] [redacted] ok");
    expect(scrub("x".repeat(1000))).toHaveLength(300);
  });
});
