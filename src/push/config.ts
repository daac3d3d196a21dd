import { z } from "zod";
import { configSection, json, list, optionalText, SECRET_CHARACTERS, serviceUrl } from "../platform/config";

/** The fields of a Google service-account JSON that FCM needs. */
export const ServiceAccountSchema = z.looseObject({
  project_id: z.string().min(1),
  client_email: z.string().min(3),
  private_key: z.string().includes("PRIVATE KEY", { message: "must hold a PEM private key" }),
});

export type ServiceAccount = z.output<typeof ServiceAccountSchema>;

// Where FCM and Google OAuth are, for every app (tests point them at a fake).
const FcmUrls = {
  FCM_BASE_URL: serviceUrl("https://fcm.googleapis.com"),
  FCM_IID_URL: serviceUrl("https://iid.googleapis.com"),
  GOOGLE_TOKEN_URL: serviceUrl("https://oauth2.googleapis.com/token"),
};

type FcmUrlValues = { FCM_BASE_URL: string; FCM_IID_URL: string; GOOGLE_TOKEN_URL: string };

/** FCM as one app has it: its service account, and the deployment's URLs. */
export const fcmFor = (account: ServiceAccount, urls: FcmUrlValues) => ({
  projectId: account.project_id,
  clientEmail: account.client_email,
  privateKey: account.private_key,
  baseUrl: urls.FCM_BASE_URL,
  iidUrl: urls.FCM_IID_URL,
  tokenUrl: urls.GOOGLE_TOKEN_URL,
});

/** FCM, or undefined when no service account is set (the log provider stands in). */
const FcmSection = z
  .object({
    FCM_SERVICE_ACCOUNT: z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), json(ServiceAccountSchema).optional()),
    ...FcmUrls,
  })
  .transform((env) => (env.FCM_SERVICE_ACCOUNT ? fcmFor(env.FCM_SERVICE_ACCOUNT, env) : undefined));

export const ApnsKeySchema = z.string().includes("PRIVATE KEY", { message: "must be the .p8 key (PEM)" });
export const ApnsKeyIdSchema = z.string().regex(/^[A-Z0-9]{10}$/, "is the 10-character key id");
export const ApnsTeamIdSchema = z.string().regex(/^[A-Z0-9]{10}$/, "is the 10-character team id");
export const BundleIdSchema = z.string().regex(/^[A-Za-z0-9.-]+$/, "is an app bundle id");

// How APNs is reached, for every app: Apple's hosts, a fake (tests), or the relay.
const ApnsTransport = {
  APNS_BASE_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  // The optional HTTP/1.1 → HTTP/2 relay on the TURN hosts (docs/APNS-RELAY.md): https, or http
  // to a loopback address (tests). The secret travels in a header: hex or base64 only.
  APNS_RELAY_URL: optionalText.pipe(
    z
      .url({ protocol: /^https?$/ })
      .refine((url) => new URL(url).origin === url.replace(/\/+$/, ""), "must be a bare origin (https://host:port)")
      .refine((url) => {
        const { protocol, hostname } = new URL(url);
        return protocol === "https:" || /^(localhost|127(\.[0-9]{1,3}){3}|\[::1\])$/.test(hostname);
      }, "must be https (http only to a loopback address, for tests)")
      .optional(),
  ),
  APNS_RELAY_SECRET: optionalText.pipe(
    z
      .string()
      .min(32, "must be at least 32 characters (openssl rand -hex 32)")
      .regex(SECRET_CHARACTERS, "must be hex, base64 or base64url (no quotes, spaces or commas)")
      .optional(),
  ),
};

type ApnsTransportValues = { APNS_BASE_URL?: string | undefined; APNS_RELAY_URL?: string | undefined; APNS_RELAY_SECRET?: string | undefined };

function checkTransport(env: ApnsTransportValues, ctx: z.RefinementCtx): void {
  if (Boolean(env.APNS_RELAY_URL) !== Boolean(env.APNS_RELAY_SECRET)) {
    ctx.addIssue({ code: "custom", path: ["APNS_RELAY_URL"], message: "and APNS_RELAY_SECRET go together" });
  }
  if (env.APNS_RELAY_URL && env.APNS_BASE_URL) {
    ctx.addIssue({ code: "custom", path: ["APNS_RELAY_URL"], message: "and APNS_BASE_URL are both set; choose one (APNS_BASE_URL is for tests)" });
  }
}

/** APNs as one app has it: its key, key id, team and bundle, and the deployment's transport. */
export const apnsFor = (credentials: { key: string; keyId: string; teamId: string; bundleId: string }, env: ApnsTransportValues) => ({
  ...credentials,
  baseUrl: env.APNS_BASE_URL?.replace(/\/+$/, ""),
  relay: env.APNS_RELAY_URL && env.APNS_RELAY_SECRET ? { url: env.APNS_RELAY_URL.replace(/\/+$/, ""), secret: env.APNS_RELAY_SECRET } : undefined,
});

/** APNs, or undefined when no key is set (the log provider stands in). */
const ApnsSection = z
  .object({
    APNS_KEY: optionalText.pipe(ApnsKeySchema.optional()),
    APNS_KEY_ID: optionalText.pipe(ApnsKeyIdSchema.optional()),
    APNS_TEAM_ID: optionalText.pipe(ApnsTeamIdSchema.optional()),
    APNS_BUNDLE_ID: optionalText.pipe(BundleIdSchema.optional()),
    ...ApnsTransport,
    PUSH_APPS: optionalText,
  })
  .superRefine((env, ctx) => {
    const apns = [env.APNS_KEY, env.APNS_KEY_ID, env.APNS_TEAM_ID, env.APNS_BUNDLE_ID];
    if (apns.some(Boolean) && !apns.every(Boolean)) {
      ctx.addIssue({ code: "custom", path: ["APNS_KEY"], message: "APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID and APNS_BUNDLE_ID go together" });
    }
    checkTransport(env, ctx);
    // With PUSH_APPS, the relay may carry only the other apps' sends.
    if (env.APNS_RELAY_URL && !env.APNS_KEY && !env.PUSH_APPS) {
      ctx.addIssue({ code: "custom", path: ["APNS_RELAY_URL"], message: "is set without APNS_KEY: the relay carries APNs sends, and there are none" });
    }
  })
  .transform((env) =>
    env.APNS_KEY && env.APNS_KEY_ID && env.APNS_TEAM_ID && env.APNS_BUNDLE_ID
      ? apnsFor({ key: env.APNS_KEY, keyId: env.APNS_KEY_ID, teamId: env.APNS_TEAM_ID, bundleId: env.APNS_BUNDLE_ID }, env)
      : undefined,
  );

/** The default app's FCM and APNs (`FCM_SERVICE_ACCOUNT`, `APNS_*`): what one app per deployment had. */
export const fcmConfig = configSection("fcm", FcmSection);
export const apnsConfig = configSection("apns", ApnsSection);
/** The URLs and the APNs transport alone: what the apps of `PUSH_APPS` share with the default one. */
export const fcmUrls = configSection("fcm-urls", z.object(FcmUrls));
export const apnsTransport = configSection("apns-transport", z.object(ApnsTransport).superRefine(checkTransport));
export type FcmConfig = NonNullable<ReturnType<typeof fcmConfig>>;
export type ApnsConfig = NonNullable<ReturnType<typeof apnsConfig>>;

/** Unpadded base64url of exactly `bytes` bytes (`first`: the first byte's value, when fixed). */
const base64urlKey = (bytes: number, what: string, first?: number) =>
  z.string().refine((value) => {
    if (!/^[A-Za-z0-9_-]+$/.test(value) || value.length % 4 === 1) return false;
    const decoded = Uint8Array.from(atob(value.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
    return decoded.length === bytes && (first === undefined || decoded[0] === first);
  }, `must be ${what} (base64url, as web-push generate-vapid-keys prints it)`);

/**
 * Web Push (RFC 8030) with VAPID (RFC 8292): the deployment's application-server key pair, or
 * undefined when none is set (the log provider stands in). The public key is what browsers
 * subscribe with (GET /v1/push/vapid-public-key); the subject is how push services reach the
 * operator. `WEBPUSH_BASE_URL` (tests) sends every request to `<base>/<endpoint host><path>`.
 */
const WebPushSection = z
  .object({
    VAPID_PUBLIC_KEY: optionalText.pipe(base64urlKey(65, "an uncompressed P-256 public key (65 bytes)", 0x04).optional()),
    VAPID_PRIVATE_KEY: optionalText.pipe(base64urlKey(32, "a P-256 private key (32 bytes)").optional()),
    VAPID_SUBJECT: optionalText.pipe(z.string().regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/, "must be a mailto: address or an https URL (RFC 8292)").optional()),
    WEBPUSH_BASE_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  })
  .superRefine((env, ctx) => {
    const vapid = [env.VAPID_PUBLIC_KEY, env.VAPID_PRIVATE_KEY, env.VAPID_SUBJECT];
    if (vapid.some(Boolean) && !vapid.every(Boolean)) {
      ctx.addIssue({ code: "custom", path: ["VAPID_PRIVATE_KEY"], message: "VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and VAPID_SUBJECT go together" });
    }
  })
  .transform((env) =>
    env.VAPID_PUBLIC_KEY && env.VAPID_PRIVATE_KEY && env.VAPID_SUBJECT
      ? { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY, subject: env.VAPID_SUBJECT, baseUrl: env.WEBPUSH_BASE_URL?.replace(/\/+$/, "") }
      : undefined,
  );

/** The push services of today's browsers: Chrome, Edge, Opera and Samsung (FCM), Firefox, Safari, and Windows (WNS). */
const PUSH_SERVICES = ["fcm.googleapis.com", "android.googleapis.com", "push.services.mozilla.com", "push.apple.com", "notify.windows.com"];

/**
 * The hosts a Web Push endpoint may be at (each with its subdomains): every endpoint is a URL the
 * Worker POSTs to, so only push services are taken. `WEBPUSH_PUSH_SERVICES` (comma-separated host
 * names) replaces the list, for a browser whose push service is not on it.
 */
const WebPushServicesSection = z
  .object({
    WEBPUSH_PUSH_SERVICES: optionalText.pipe(
      z
        .string()
        .refine((value) => list(value).every((host) => /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host)), "must be comma-separated host names (lower case)")
        .optional(),
    ),
  })
  .transform((env) => (env.WEBPUSH_PUSH_SERVICES ? list(env.WEBPUSH_PUSH_SERVICES) : PUSH_SERVICES));

export const webPushConfig = configSection("webpush", WebPushSection);
export const webPushServices = configSection("webpush-services", WebPushServicesSection);
export type WebPushConfig = NonNullable<ReturnType<typeof webPushConfig>>;
