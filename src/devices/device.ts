import { z } from "@hono/zod-openapi";

/** A push device: what a client registers (the contract's section 5.1), and what is stored. */
export const Provider = z.enum(["fcm", "apns", "webpush"]);
export type Provider = z.output<typeof Provider>;
const Platform = z.enum(["android", "ios", "web"]);
const ApnsEnvironment = z.enum(["production", "sandbox"]);

const APNS_TOKEN = /^[0-9a-fA-F]{64,200}$/;
// FCM registration tokens are opaque: today ~160 characters of base64url plus ':' and '-'.
/** The longest FCM registration token accepted: FCM carries it in the message body, so it counts toward the payload. */
export const FCM_TOKEN_MAX_LENGTH = 600;
const FCM_TOKEN = new RegExp(`^[A-Za-z0-9_:\\-.]{64,${FCM_TOKEN_MAX_LENGTH}}$`);

/**
 * A browser's push subscription endpoint is a URL the Worker will POST to, so it is held to what
 * push services hand out: https, a host name (no address, no user name or password), at most
 * {@link MAX_ENDPOINT_LENGTH} characters (the device's KV metadata must hold it and its keys). Which
 * push services are accepted is the push layer's policy (push/webpush.ts).
 */
export const MAX_ENDPOINT_LENGTH = 600;
const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|\[.*\])$/;
// base64url without padding (browsers' PushSubscription.toJSON()); padding is tolerated.
const base64urlBytes = (bytes: number, what: string) =>
  z.string().refine((value) => decodedLength(value) === bytes, `must be the ${what} (${bytes} bytes, base64url)`);

function decodedLength(value: string): number | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return undefined;
  const bare = value.replace(/=+$/, "");
  return bare.length % 4 === 1 ? undefined : Math.floor((bare.length * 3) / 4);
}

export const WebPushSubscriptionSchema = z
  .object({
    endpoint: z
      .string()
      .max(MAX_ENDPOINT_LENGTH, `must be at most ${MAX_ENDPOINT_LENGTH} characters`)
      .refine((value) => {
        const url = URL.parse(value);
        return url !== null && url.protocol === "https:" && !url.username && !url.password && !IP_LITERAL.test(url.hostname) && url.hostname.includes(".");
      }, "must be an https URL of a push service (a host name, no credentials)"),
    keys: z
      .object({
        p256dh: base64urlBytes(65, "subscription's P-256 public key").refine((value) => value.startsWith("B"), "must be an uncompressed P-256 point"),
        auth: base64urlBytes(16, "subscription's auth secret"),
      })
      .strict(),
    // What PushSubscription.toJSON() also carries; not stored (a push service's 404/410 says when it ended).
    expirationTime: z.number().nullable().optional(),
  })
  .strict()
  .openapi("WebPushSubscription", { description: "A browser's PushSubscription.toJSON()" });

/**
 * The app a device belongs to, of those the deployment serves (push/apps.ts): `default` is the one
 * app of `FCM_SERVICE_ACCOUNT` and `APNS_*`, what every device without an `app` is.
 */
export const DEFAULT_APP = "default";
export const AppIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "app ids are 1 to 32 of a-z 0-9 - (starting with a letter or digit)");

export const DeviceIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "device ids are 1 to 128 letters, digits, _ . : -");

export const DeviceRegistrationSchema = z
  .object({
    provider: Provider,
    token: z.string().optional().openapi({ description: "The FCM registration token or the APNs device token (not for webpush)" }),
    subscription: WebPushSubscriptionSchema.optional().openapi({ description: "webpush only: the browser's push subscription" }),
    platform: Platform,
    voipToken: z.string().regex(APNS_TOKEN, "must be an APNs token (hex)").optional(),
    environment: ApnsEnvironment.optional(),
    appId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,100}$/, "app ids are 1 to 100 letters, digits, _ . -")
      .optional()
      .openapi({ description: "Free-form label of the client's own (stored and shown, never interpreted)" }),
    app: AppIdSchema.optional().openapi({ description: `The app whose push credentials reach this device (PUSH_APPS); default "${DEFAULT_APP}"`, example: DEFAULT_APP }),
  })
  .strict()
  .superRefine((device, ctx) => {
    if (device.provider === "webpush") {
      if (!device.subscription) ctx.addIssue({ code: "custom", path: ["subscription"], message: "is required for webpush (the browser's PushSubscription)" });
      if (device.token !== undefined) ctx.addIssue({ code: "custom", path: ["token"], message: "is not used for webpush: send the subscription" });
      if (device.platform !== "web") ctx.addIssue({ code: "custom", path: ["platform"], message: "Web Push devices are web" });
    } else {
      if (device.subscription) ctx.addIssue({ code: "custom", path: ["subscription"], message: "is a webpush field" });
      const pattern = device.provider === "apns" ? APNS_TOKEN : FCM_TOKEN;
      if (device.token === undefined || !pattern.test(device.token)) {
        ctx.addIssue({
          code: "custom",
          path: ["token"],
          message: device.provider === "apns" ? "must be an APNs device token (64+ hex characters)" : "must be an FCM registration token (64 to 600 characters)",
        });
      }
    }
    if (device.provider === "apns" && device.platform !== "ios") {
      ctx.addIssue({ code: "custom", path: ["platform"], message: "APNs devices are ios" });
    }
    if (device.provider !== "apns" && (device.voipToken || device.environment)) {
      ctx.addIssue({ code: "custom", path: ["provider"], message: "voipToken and environment are APNs fields" });
    }
  });

export type DeviceRegistration = z.output<typeof DeviceRegistrationSchema>;

/**
 * What the push layer allows beyond the shape (push/registration-policy.ts): an app the
 * deployment serves, with credentials for the provider; a push service it sends to. A refusal
 * names the field and says why. The HTTP app hands one to `deviceRoutes`, so the devices layer
 * never imports push.
 */
export interface RegistrationPolicy {
  refusal(env: Env, registration: DeviceRegistration): { field: string; message: string } | undefined;
}

/** A registered device as stored, and as push jobs carry it. */
export const DeviceSchema = z.object({
  deviceId: z.string(),
  userId: z.string(),
  provider: Provider,
  token: z.string(),
  platform: Platform,
  voipToken: z.string().optional(),
  environment: ApnsEnvironment.optional(),
  appId: z.string().optional(),
  // Absent on devices stored before apps existed: they are the default app's.
  app: z.string().default(DEFAULT_APP),
  // webpush: the subscription's keys (`token` is its endpoint).
  webpush: z.object({ p256dh: z.string(), auth: z.string() }).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export type Device = z.output<typeof DeviceSchema>;

/** A device as the API shows it: tokens, endpoints and keys are never returned in full. */
export const PublicDeviceSchema = DeviceSchema.omit({ userId: true, token: true, voipToken: true, webpush: true })
  .extend({
    tokenSuffix: z.string().openapi({ description: "Last 8 characters of the push token (webpush: of the endpoint); never returned in full" }),
    voipTokenSuffix: z.string().optional(),
    pushService: z.string().optional().openapi({ description: "webpush: the push service's host (the endpoint's), e.g. fcm.googleapis.com", example: "updates.push.services.mozilla.com" }),
  })
  .openapi("Device");

export function publicDevice(device: Device): z.output<typeof PublicDeviceSchema> {
  const { token, voipToken, webpush, userId: _owner, ...rest } = device;
  return {
    ...rest,
    tokenSuffix: token.slice(-8),
    ...(voipToken ? { voipTokenSuffix: voipToken.slice(-8) } : {}),
    ...(webpush ? { pushService: new URL(token).host } : {}),
  };
}

/** A token shortened for logs. */
export const redact = (token: string) => `…${token.slice(-6)}`;

