import { DEFAULT_APP, type RegistrationPolicy } from "../devices/device";
import { appRefusal } from "./apps";
import { webPushServices } from "./config";
import { webPushRefusal } from "./webpush";

/**
 * What a device registration may name, beyond its shape: an app this deployment serves with
 * credentials for the device's provider (apps.ts), and a browser's endpoint at a push service
 * this deployment sends to (webpush.ts). The devices layer asks; push answers.
 */
export const registrationPolicy: RegistrationPolicy = {
  refusal(env, registration) {
    const app = appRefusal(env, registration.app ?? DEFAULT_APP, registration.provider);
    if (app) return { field: "app", message: app };
    const endpoint = webPushRefusal(registration, webPushServices(env));
    if (endpoint) return { field: "subscription.endpoint", message: endpoint };
    return undefined;
  },
};
