/**
 * Web Push for a browser tab that is closed or in the background: the line (`listen()`) hears of
 * calls only while a tab is open, a push reaches the browser's service worker anyway. The service
 * worker shows what it gets (see the demo's sw.js for one that rings).
 *
 * @example
 * const registration = await navigator.serviceWorker.register("/sw.js");
 * await enableWebPush(client, { registration, deviceId: "laptop-firefox" });
 */

/** What the helpers need of the client: its authenticated `request` (a `SecureConnect` has it). */
export interface PushApi {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface WebPushOptions {
  /** The service worker registration whose push manager subscribes (and whose worker shows the pushes). */
  registration: ServiceWorkerRegistration;
  /** This browser's device id: stable across visits (keep it in localStorage), 1 to 128 of A-Z a-z 0-9 _ . : - */
  deviceId: string;
  /** The app whose devices this browser is among (PUSH_APPS); the default app when absent. */
  app?: string;
  /** How long the browser's push service may take to subscribe (default 30 s); it never answers when unreachable. */
  timeoutMs?: number;
}

/** The device as the service shows it (no endpoint, no keys). */
export interface WebPushDevice {
  deviceId: string;
  provider: "webpush";
  platform: "web";
  app: string;
  pushService?: string;
  tokenSuffix: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * Subscribes this browser to Web Push with the service's VAPID key and registers the
 * subscription as the user's device `deviceId` (again on every call: idempotent, and it refreshes
 * a subscription the browser renewed). The browser asks the person for permission to show
 * notifications the first time. A subscription made with another key (the service rotated its
 * VAPID key) is replaced.
 */
export async function enableWebPush(client: PushApi, options: WebPushOptions): Promise<WebPushDevice> {
  if (!("pushManager" in options.registration)) throw new Error("this browser has no Web Push (PushManager)");
  const { publicKey } = await client.request<{ publicKey: string | null }>("GET", "/v1/push/vapid-public-key");
  if (!publicKey) throw new Error("Web Push is not configured on the service (VAPID_PUBLIC_KEY is not set)");
  const applicationServerKey = fromBase64url(publicKey);
  const push = options.registration.pushManager;
  let subscription = await push.getSubscription();
  if (subscription && !sameBytes(subscription.options.applicationServerKey, applicationServerKey)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await bounded(push.subscribe({ userVisibleOnly: true, applicationServerKey }), options.timeoutMs ?? 30_000);
  const { endpoint, keys } = subscription.toJSON();
  if (!endpoint || !keys?.p256dh || !keys.auth) throw new Error("the browser's push subscription has no endpoint or keys");
  return client.request<WebPushDevice>("PUT", `/v1/devices/${encodeURIComponent(options.deviceId)}`, {
    provider: "webpush",
    platform: "web",
    subscription: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } },
    ...(options.app ? { app: options.app } : {}),
  });
}

/** Ends this browser's subscription and removes its device (already gone counts as done). */
export async function disableWebPush(client: PushApi, options: Pick<WebPushOptions, "registration" | "deviceId">): Promise<void> {
  await (await options.registration.pushManager.getSubscription())?.unsubscribe();
  try {
    await client.request("DELETE", `/v1/devices/${encodeURIComponent(options.deviceId)}`);
  } catch (error) {
    if ((error as { status?: number }).status !== 404) throw error;
  }
}

/** `subscribing`, or an error once `ms` have passed (Chromium waits for an unreachable push service forever). */
async function bounded<T>(subscribing: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the browser's push service did not answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([subscribing, late]);
  } finally {
    clearTimeout(timer);
  }
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function sameBytes(buffer: ArrayBuffer | null, bytes: Uint8Array): boolean {
  if (!buffer || buffer.byteLength !== bytes.length) return false;
  const view = new Uint8Array(buffer);
  return view.every((byte, i) => byte === bytes[i]);
}
