/**
 * The SDK's Web Push helpers (client/src/push.ts) against a scripted push manager and a scripted
 * service: they subscribe with the service's VAPID key, register the subscription as the device,
 * keep a subscription made with that key, replace one made with another, say clearly when the
 * service has no VAPID key, and unsubscribe and remove the device. Not covered here: a real
 * browser's push manager (test/e2e/webpush.test.ts drives a real service worker) and the
 * service's validation (test/push/webpush.test.ts).
 */
import { describe, expect, it } from "vitest";

/** What the test uses of the SDK; imported by path so the root typecheck (no DOM) skips the SDK's DOM types. */
interface PushApi {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}
interface Sdk {
  enableWebPush(client: PushApi, options: { registration: unknown; deviceId: string; app?: string }): Promise<unknown>;
  disableWebPush(client: PushApi, options: { registration: unknown; deviceId: string }): Promise<void>;
}
const sdkPath = "../../client/src/push.ts";
const { enableWebPush, disableWebPush } = (await import(sdkPath)) as Sdk;

const KEY = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
const bytes = (text: string) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

/** A PushSubscription as a browser hands it out. */
class ScriptedSubscription {
  unsubscribed = false;
  constructor(
    readonly endpoint: string,
    readonly applicationServerKey: Uint8Array,
  ) {}
  get options() {
    return { applicationServerKey: this.applicationServerKey.buffer, userVisibleOnly: true };
  }
  toJSON() {
    return { endpoint: this.endpoint, expirationTime: null, keys: { p256dh: "p256dh-of-browser", auth: "auth-of-browser" } };
  }
  async unsubscribe() {
    this.unsubscribed = true;
    return true;
  }
}

function browser(existing?: ScriptedSubscription) {
  const subscribed: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }[] = [];
  let current = existing;
  const registration = {
    pushManager: {
      getSubscription: async () => (current && !current.unsubscribed ? current : null),
      subscribe: async (options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }) => {
        subscribed.push(options);
        current = new ScriptedSubscription(`https://push.example.test/sub/${subscribed.length}`, options.applicationServerKey);
        return current;
      },
    },
  };
  return { registration, subscribed };
}

function service(publicKey: string | null = KEY, deleteStatus = 204) {
  const requests: { method: string; path: string; body?: unknown }[] = [];
  const client: PushApi = {
    async request<T>(method: string, path: string, body?: unknown) {
      requests.push({ method, path, ...(body === undefined ? {} : { body }) });
      if (path === "/v1/push/vapid-public-key") return { publicKey } as T;
      if (method === "DELETE" && deleteStatus === 404) throw Object.assign(new Error("no such device"), { status: 404 });
      return { deviceId: "laptop", provider: "webpush" } as T;
    },
  };
  return { client, requests };
}

describe("enableWebPush", () => {
  it("subscribes with the service's VAPID key (visible notifications only) and registers the subscription", async () => {
    const { registration, subscribed } = browser();
    const { client, requests } = service();
    await enableWebPush(client, { registration, deviceId: "laptop 1", app: "second" });
    expect(subscribed).toEqual([{ userVisibleOnly: true, applicationServerKey: bytes(KEY) }]);
    expect(requests).toEqual([
      { method: "GET", path: "/v1/push/vapid-public-key" },
      {
        method: "PUT",
        path: "/v1/devices/laptop%201",
        body: { provider: "webpush", platform: "web", subscription: { endpoint: "https://push.example.test/sub/1", keys: { p256dh: "p256dh-of-browser", auth: "auth-of-browser" } }, app: "second" },
      },
    ]);
  });

  it("keeps a subscription made with the same key, and replaces one made with another", async () => {
    const same = new ScriptedSubscription("https://push.example.test/sub/kept", bytes(KEY));
    const kept = browser(same);
    await enableWebPush(service().client, { registration: kept.registration, deviceId: "d" });
    expect(kept.subscribed).toEqual([]);

    const stale = new ScriptedSubscription("https://push.example.test/sub/old", new Uint8Array(65).fill(4));
    const replaced = browser(stale);
    const { client, requests } = service();
    await enableWebPush(client, { registration: replaced.registration, deviceId: "d" });
    expect(stale.unsubscribed).toBe(true);
    expect(replaced.subscribed).toHaveLength(1);
    expect((requests[1]!.body as { subscription: { endpoint: string } }).subscription.endpoint).toBe("https://push.example.test/sub/1");
  });

  it("says the service has no VAPID key, without subscribing", async () => {
    const { registration, subscribed } = browser();
    await expect(enableWebPush(service(null).client, { registration, deviceId: "d" })).rejects.toThrow("VAPID_PUBLIC_KEY");
    expect(subscribed).toEqual([]);
  });

  it("says the browser has no push manager", async () => {
    await expect(enableWebPush(service().client, { registration: {}, deviceId: "d" })).rejects.toThrow("no Web Push");
  });
});

describe("disableWebPush", () => {
  it("unsubscribes and removes the device; a device already gone is fine", async () => {
    const subscription = new ScriptedSubscription("https://push.example.test/sub/x", bytes(KEY));
    const { client, requests } = service(KEY, 404);
    await disableWebPush(client, { registration: browser(subscription).registration, deviceId: "laptop" });
    expect(subscription.unsubscribed).toBe(true);
    expect(requests).toEqual([{ method: "DELETE", path: "/v1/devices/laptop" }]);
  });
});
