import { z } from "@hono/zod-openapi";

/** A push device: what a client registers (the contract's section 5.1), and what is stored. */
export const Provider = z.enum(["fcm", "apns"]);
export type Provider = z.output<typeof Provider>;
const Platform = z.enum(["android", "ios", "web"]);
const ApnsEnvironment = z.enum(["production", "sandbox"]);

const APNS_TOKEN = /^[0-9a-fA-F]{64,200}$/;
// FCM registration tokens are opaque: today ~160 characters of base64url plus ':' and '-'.
const FCM_TOKEN = /^[A-Za-z0-9_:\-.]{64,600}$/;

/**
 * The app a device belongs to, of those the deployment serves (push/apps.ts): `default` is the one
 * app of `FCM_SERVICE_ACCOUNT` and `APNS_*`, what every device without an `app` is.
 */
export const DEFAULT_APP = "default";
export const AppIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "app ids are 1 to 32 of a-z 0-9 - (starting with a letter or digit)");

/**
 * Which apps the deployment serves, as the push layer knows them: why a device of `provider` may
 * not register with `app` (naming it), or undefined when it may. The HTTP app hands one to
 * {@link deviceRoutes}.
 */
export interface AppCatalog {
  refusal(env: Env, app: string, provider: Provider): string | undefined;
}

export const DeviceIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "device ids are 1 to 128 letters, digits, _ . : -");

export const DeviceRegistrationSchema = z
  .object({
    provider: Provider,
    token: z.string(),
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
    const pattern = device.provider === "apns" ? APNS_TOKEN : FCM_TOKEN;
    if (!pattern.test(device.token)) {
      ctx.addIssue({
        code: "custom",
        path: ["token"],
        message: device.provider === "apns" ? "must be an APNs device token (64+ hex characters)" : "must be an FCM registration token (64 to 600 characters)",
      });
    }
    if (device.provider === "apns" && device.platform !== "ios") {
      ctx.addIssue({ code: "custom", path: ["platform"], message: "APNs devices are ios" });
    }
    if (device.provider === "fcm" && (device.voipToken || device.environment)) {
      ctx.addIssue({ code: "custom", path: ["provider"], message: "voipToken and environment are APNs fields" });
    }
  });

export type DeviceRegistration = z.output<typeof DeviceRegistrationSchema>;

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
  createdAt: z.string(),
  updatedAt: z.string(),
});

export type Device = z.output<typeof DeviceSchema>;

/** A device as the API shows it: tokens are never returned in full. */
export const PublicDeviceSchema = DeviceSchema.omit({ userId: true, token: true, voipToken: true })
  .extend({
    tokenSuffix: z.string().openapi({ description: "Last 8 characters of the push token; tokens are never returned in full" }),
    voipTokenSuffix: z.string().optional(),
  })
  .openapi("Device");

export function publicDevice(device: Device): z.output<typeof PublicDeviceSchema> {
  const { token, voipToken, userId: _owner, ...rest } = device;
  return { ...rest, tokenSuffix: token.slice(-8), ...(voipToken ? { voipTokenSuffix: voipToken.slice(-8) } : {}) };
}

/** A token shortened for logs. */
export const redact = (token: string) => `…${token.slice(-6)}`;

