import { z } from "zod";
import { AppIdSchema, DEFAULT_APP, type Provider as ProviderName } from "../devices/device";
import { configSection, ConfigError, json, tryConfig } from "../platform/config";
import {
  ApnsKeyIdSchema,
  ApnsKeySchema,
  apnsConfig,
  apnsFor,
  apnsTransport,
  ApnsTeamIdSchema,
  BundleIdSchema,
  fcmConfig,
  fcmFor,
  fcmUrls,
  ServiceAccountSchema,
  type ApnsConfig,
  type FcmConfig,
} from "./config";

/**
 * Several apps behind one deployment. The default app is configured as one app always was
 * (`FCM_SERVICE_ACCOUNT`, `APNS_*`); every other app is one entry of `PUSH_APPS` (plain values,
 * a `[vars]` table or a variable) and one secret with its keys:
 *
 *   PUSH_APPS = {"b2b": {"fcm": true, "apns": {"keyId": "ABC123DEFG", "teamId": "TEAM123456", "bundleId": "com.example.b2b"}}}
 *   PUSH_APP_KEYS_B2B = {"fcmServiceAccount": {…the service-account JSON…}, "apnsKey": "<the .p8 key, PEM>"}
 *
 * A provider an app declares but whose key is missing or malformed is *misconfigured*: that app's
 * devices of that provider fail, naming the variable, and the push check says so; other apps and
 * providers are untouched. Base URLs and the APNs relay are the deployment's, shared by all apps.
 */

const AppDeclarationSchema = z
  .object({
    fcm: z.literal(true).optional(),
    apns: z.object({ keyId: ApnsKeyIdSchema, teamId: ApnsTeamIdSchema, bundleId: BundleIdSchema }).strict().optional(),
  })
  .strict();

const AppKeysSchema = z.object({ fcmServiceAccount: ServiceAccountSchema.optional(), apnsKey: ApnsKeySchema.optional() }).strict();

/** An app of `PUSH_APPS`: what it declares, and its keys, or why they do not read (only that app fails). */
interface DeclaredApp {
  declaration: z.output<typeof AppDeclarationSchema>;
  keys: z.output<typeof AppKeysSchema> | ConfigError;
}

const PushAppsSection = z
  .looseObject({
    PUSH_APPS: z.preprocess(
      (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
      json(
        z
          .record(AppIdSchema, AppDeclarationSchema)
          .refine((apps) => !(DEFAULT_APP in apps), `must not declare "${DEFAULT_APP}": FCM_SERVICE_ACCOUNT and APNS_* configure it`),
      ).optional(),
    ),
  })
  .transform(
    (env) =>
      new Map<string, DeclaredApp>(
        Object.entries(env.PUSH_APPS ?? {}).map(([app, declaration]) => [app, { declaration, keys: parseKeys(app, (env as Record<string, unknown>)[appKeysVariable(app)]) }]),
      ),
  );

/** The apps of `PUSH_APPS` (the default app is not among them), each with its keys secret read. */
export const pushApps = configSection("push-apps", PushAppsSection);

/** The secret holding an app's keys: `PUSH_APP_KEYS_` and the app id in upper case, `-` as `_`. */
export const appKeysVariable = (app: string) => `PUSH_APP_KEYS_${app.toUpperCase().replaceAll("-", "_")}`;

/** Every app this deployment serves: the default one first. */
export function appIds(env: object): string[] {
  const declared = tryConfig(pushApps, env);
  return [DEFAULT_APP, ...(declared instanceof ConfigError ? [] : declared.keys())];
}

/** The apps that declare `provider` (the default app always: without credentials it logs). */
export function appsWith(env: object, provider: "fcm" | "apns"): string[] {
  const declared = tryConfig(pushApps, env);
  return [DEFAULT_APP, ...(declared instanceof ConfigError ? [] : [...declared].flatMap(([app, { declaration }]) => (declaration[provider] ? [app] : [])))];
}

/**
 * The credentials of `app` for FCM and for APNs: undefined for the default app without them (the
 * log provider stands in), a {@link ConfigError} naming what to fix when they are missing or
 * malformed.
 */
export function fcmCredentials(env: object, app: string): FcmConfig | undefined | ConfigError {
  if (app === DEFAULT_APP) return tryConfig(fcmConfig, env);
  return fromKeys(env, app, "fcm", ({ keys }) => {
    if (!keys.fcmServiceAccount) return missing(app, "fcmServiceAccount", "fcm");
    const urls = tryConfig(fcmUrls, env);
    return urls instanceof ConfigError ? urls : fcmFor(keys.fcmServiceAccount, urls);
  });
}

export function apnsCredentials(env: object, app: string): ApnsConfig | undefined | ConfigError {
  if (app === DEFAULT_APP) return tryConfig(apnsConfig, env);
  return fromKeys(env, app, "apns", ({ keys, declaration }) => {
    if (!keys.apnsKey || !declaration.apns) return missing(app, "apnsKey", "apns");
    const transport = tryConfig(apnsTransport, env);
    return transport instanceof ConfigError ? transport : apnsFor({ key: keys.apnsKey, ...declaration.apns }, transport);
  });
}

/**
 * Why a device of `provider` may not register with `app`, naming it: an app the deployment does
 * not serve; an app of `PUSH_APPS` without that provider's credentials (Web Push serves every app
 * with the deployment's VAPID key). Undefined when it may.
 */
export function appRefusal(env: object, app: string, provider: ProviderName): string | undefined {
  if (app === DEFAULT_APP || provider === "webpush") {
    return app === DEFAULT_APP || pushApps(env).has(app) ? undefined : unknownApp(env, app);
  }
  const found = pushApps(env).get(app);
  if (!found) return unknownApp(env, app);
  if (!found.declaration[provider]) return `app "${app}" has no ${provider} credentials (see PUSH_APPS)`;
  return undefined;
}

const unknownApp = (env: object, app: string) => `unknown app "${app}": this deployment serves ${appIds(env).map((id) => `"${id}"`).join(", ")}`;

/**
 * `build` from an app of `PUSH_APPS` that declares `provider` and whose keys read, or the
 * {@link ConfigError} that says which of those is not so.
 */
function fromKeys<T>(env: object, app: string, provider: "fcm" | "apns", build: (found: DeclaredApp & { keys: z.output<typeof AppKeysSchema> }) => T | ConfigError): T | ConfigError {
  const declared = tryConfig(pushApps, env);
  if (declared instanceof ConfigError) return declared;
  const found = declared.get(app);
  if (!found) return new ConfigError([{ variable: "PUSH_APPS", message: `does not declare app "${app}", which a device is registered with` }]);
  if (!found.declaration[provider]) return new ConfigError([{ variable: "PUSH_APPS", message: `declares no ${provider} for app "${app}", which a device is registered with` }]);
  const { keys } = found;
  return keys instanceof ConfigError ? keys : build({ ...found, keys });
}

const missing = (app: string, field: string, provider: string) =>
  new ConfigError([{ variable: appKeysVariable(app), message: `has no ${field}, and PUSH_APPS declares ${provider} for app "${app}"` }]);

function parseKeys(app: string, raw: unknown): z.output<typeof AppKeysSchema> | ConfigError {
  const variable = appKeysVariable(app);
  if (raw === undefined || (typeof raw === "string" && raw.trim() === "")) return new ConfigError([{ variable, message: `is not set: app "${app}" of PUSH_APPS has no keys` }]);
  const parsed = json(AppKeysSchema).safeParse(raw);
  if (parsed.success) return parsed.data;
  return new ConfigError(parsed.error.issues.map((issue) => ({ variable, message: issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message })));
}
