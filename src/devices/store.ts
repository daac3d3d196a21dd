import { base64url } from "../platform/ids";
import { DEFAULT_APP, type Device, type DeviceRegistration, type Provider } from "./device";
import { announceRemoval, announceRetoken } from "./announcements";
import { MAX_DEVICES_PER_USER, type DeviceRoster } from "./roster";

export { MAX_DEVICES_PER_USER };

/**
 * Push devices in Workers KV, one key per device, never a shared list:
 *
 *   dev:<user>:<deviceId>            value: the whole {@link Device}; metadata: what fan-out needs
 *   tok:<provider>:<sha256(token)>   value: "<userId>\n<deviceId>" (reverse index; webpush: of the endpoint)
 *
 * where `<user>` is {@link userKeyPart}. So registrations never race each other (no
 * read-modify-write of a list), one `list({prefix: "dev:<user>:"})` gives every device of a user
 * with its tokens (metadata, ≤ 1024 bytes), and a token can be traced back to its device when it
 * moves to another user. Which devices a user keeps (the cap) is decided by the user's
 * {@link DeviceRoster} (roster.ts), not by listing KV; every removal, and every re-registration
 * that changes what FCM knows the device by, is announced on the push queue (announcements.ts),
 * whose consumer takes the device out of its topics or moves its FCM subscriptions.
 */

/** What the device store works with: KV (the devices), the users' rosters, the push queue (clean-up). */
export type DeviceBindings = Pick<Env, "DEVICES" | "DEVICE_ROSTERS" | "PUSH_QUEUE">;

/** What fan-out needs, in the key's metadata (short names: the limit is 1024 bytes). */
interface DeviceMetadata {
  p: Provider;
  pl: Device["platform"];
  t: string;
  v?: string;
  e?: Device["environment"];
  a?: string;
  /** The app, when not the default one. */
  ap?: string;
  /** webpush: the subscription's keys (`t` is its endpoint). */
  w?: { p: string; a: string };
  c: string;
  u: string;
}

const sha256 = async (text: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

/**
 * A user's part of a KV key: base64url(SHA-256(userId)), 43 characters. User ids may hold `:`
 * and any printable character, so with the raw id the prefix `dev:alice:` would also match the
 * devices of a user called `alice:x`; a fixed-length digest cannot, and keeps every key far
 * below KV's 512-byte limit whatever the id.
 */
export async function userKeyPart(userId: string): Promise<string> {
  return base64url(await sha256(userId));
}

const devicePrefix = async (userId: string) => `dev:${await userKeyPart(userId)}:`;
const deviceKey = async (userId: string, deviceId: string) => `${await devicePrefix(userId)}${deviceId}`;

async function tokenKey(provider: Provider | "apns-voip", token: string): Promise<string> {
  return `tok:${provider}:${Array.from(await sha256(token), (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

function toMetadata(device: Device): DeviceMetadata {
  return {
    p: device.provider,
    pl: device.platform,
    t: device.token,
    ...(device.voipToken ? { v: device.voipToken } : {}),
    ...(device.environment ? { e: device.environment } : {}),
    ...(device.appId ? { a: device.appId } : {}),
    ...(device.app !== DEFAULT_APP ? { ap: device.app } : {}),
    ...(device.webpush ? { w: { p: device.webpush.p256dh, a: device.webpush.auth } } : {}),
    c: device.createdAt,
    u: device.updatedAt,
  };
}

function fromMetadata(userId: string, deviceId: string, meta: DeviceMetadata): Device {
  return {
    deviceId,
    userId,
    provider: meta.p,
    platform: meta.pl,
    token: meta.t,
    ...(meta.v ? { voipToken: meta.v } : {}),
    ...(meta.e ? { environment: meta.e } : {}),
    ...(meta.a ? { appId: meta.a } : {}),
    app: meta.ap ?? DEFAULT_APP,
    ...(meta.w ? { webpush: { p256dh: meta.w.p, auth: meta.w.a } } : {}),
    createdAt: meta.c,
    updatedAt: meta.u,
  };
}

/**
 * What a registration stores. APNs tokens are hex, which clients write in either case: one
 * phone's token in upper case and in lower case must be one token (one reverse-index key, one
 * owner), so they are stored lower-case. A browser's subscription is stored as its endpoint (the
 * token: what the reverse index and dead-subscription removal key on) and its keys.
 */
function storedFields(registration: DeviceRegistration): Omit<Device, "deviceId" | "userId" | "createdAt" | "updatedAt"> {
  const { subscription, token, voipToken, ...rest } = registration;
  const app = registration.app ?? DEFAULT_APP;
  // The registration schema requires a subscription for webpush and a token for the others.
  if (subscription) return { ...rest, app, token: subscription.endpoint, webpush: subscription.keys };
  if (registration.provider !== "apns") return { ...rest, app, token: token! };
  return {
    ...rest,
    app,
    token: token!.toLowerCase(),
    environment: registration.environment ?? "production",
    ...(voipToken ? { voipToken: voipToken.toLowerCase() } : {}),
  };
}

/**
 * Registers or updates a device (idempotent). A token registered before under another user or
 * device is taken away from there; the user's roster then admits the device and names the least
 * recently updated ones to evict beyond {@link MAX_DEVICES_PER_USER}. The device is written to KV
 * before it is admitted, so an eviction decided by a later admission always lands after it.
 * Returns the device and whether it is new.
 */
export async function registerDevice(
  env: DeviceBindings,
  userId: string,
  deviceId: string,
  registration: DeviceRegistration,
  now: Date,
): Promise<{ device: Device; created: boolean }> {
  const kv = env.DEVICES;
  const existing = await getDevice(kv, userId, deviceId);
  const timestamp = now.toISOString();
  const device: Device = {
    ...storedFields(registration),
    deviceId,
    userId,
    createdAt: existing?.createdAt ?? timestamp,
    updatedAt: timestamp,
  };
  const owner = `${userId}\n${deviceId}`;
  const tokens: [Provider | "apns-voip", string][] = [[device.provider, device.token]];
  if (device.voipToken) tokens.push(["apns-voip", device.voipToken]);
  for (const [kind, token] of tokens) {
    const key = await tokenKey(kind, token);
    const previous = await kv.get(key);
    if (previous && previous !== owner) {
      const [oldUser, oldDevice] = previous.split("\n") as [string, string];
      await removeIfToken(env, oldUser, oldDevice, token);
    }
    await kv.put(key, owner);
  }
  if (existing && existing.token !== device.token) await kv.delete(await tokenKey(existing.provider, existing.token));
  if (existing?.voipToken && existing.voipToken !== device.voipToken) await kv.delete(await tokenKey("apns-voip", existing.voipToken));
  await kv.put(await deviceKey(userId, deviceId), JSON.stringify(device), { metadata: toMetadata(device) });
  // Its topics stay; FCM's subscriptions of them move to the new token (after the write: the job waits until KV shows it).
  if (existing) await announceRetoken(env.PUSH_QUEUE, existing, device);
  let evict: string[];
  try {
    evict = await (await roster(env, userId)).admit(deviceId, timestamp, () => listDevices(kv, userId));
  } catch (error) {
    // Not admitted, so not counted against the cap: a new device must not stay in KV.
    if (!existing) await deleteDevice(env, userId, deviceId, { rostered: false }).catch(() => undefined);
    throw error;
  }
  for (const evicted of evict) await deleteDevice(env, userId, evicted, { rostered: false });
  return { device, created: !existing };
}

/** The user's {@link DeviceRoster}. */
async function roster(env: DeviceBindings, userId: string) {
  return env.DEVICE_ROSTERS.get(env.DEVICE_ROSTERS.idFromName(await userKeyPart(userId)));
}

/** Every device of `userId`, from one `list` per 1000 devices (metadata only, no value reads). */
export async function listDevices(kv: KVNamespace, userId: string): Promise<Device[]> {
  const prefix = await devicePrefix(userId);
  const keys = await listMetadata<DeviceMetadata>(kv, prefix);
  return keys.map(({ name, metadata }) => fromMetadata(userId, name.slice(prefix.length), metadata));
}

/** Every key under `prefix` that carries metadata, following the cursor (1000 keys per page). */
export async function listMetadata<M>(kv: KVNamespace, prefix: string): Promise<{ name: string; metadata: M }[]> {
  const keys: { name: string; metadata: M }[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list<M>({ prefix, ...(cursor ? { cursor } : {}) });
    for (const key of page.keys) if (key.metadata) keys.push({ name: key.name, metadata: key.metadata });
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return keys;
}

/** The device a token is registered to now, from the reverse index; null when none is. */
export async function tokenOwner(kv: KVNamespace, provider: Provider, token: string): Promise<{ userId: string; deviceId: string } | null> {
  const owner = await kv.get(await tokenKey(provider, token));
  if (!owner) return null;
  const [userId, deviceId] = owner.split("\n") as [string, string];
  return { userId, deviceId };
}

export async function getDevice(kv: KVNamespace, userId: string, deviceId: string): Promise<Device | null> {
  const device = await kv.get<Omit<Device, "app"> & { app?: string }>(await deviceKey(userId, deviceId), "json");
  return device && { ...device, app: device.app ?? DEFAULT_APP };
}

/**
 * Removes a device and its reverse-index entries, tells its roster (unless the roster itself
 * evicted it: `rostered: false`), and announces the removal so its topic memberships go too;
 * false if there was none. Four KV operations at most (a read, three deletes).
 */
export async function deleteDevice(env: DeviceBindings, userId: string, deviceId: string, options: { rostered?: boolean } = {}): Promise<boolean> {
  const kv = env.DEVICES;
  const device = await getDevice(kv, userId, deviceId);
  if (!device) return false;
  await kv.delete(await deviceKey(userId, deviceId));
  await kv.delete(await tokenKey(device.provider, device.token));
  if (device.voipToken) await kv.delete(await tokenKey("apns-voip", device.voipToken));
  if (options.rostered !== false) await (await roster(env, userId)).forget(deviceId);
  await announceRemoval(env.PUSH_QUEUE, device);
  return true;
}

/**
 * A provider said `token` is dead. The device loses it only if it still has that token and did
 * not register again after `reportedAt` (APNs' 410 timestamp): a dead VoIP token is dropped from
 * the device; a dead main token removes the device.
 */
export async function removeDeadToken(
  env: DeviceBindings,
  userId: string,
  deviceId: string,
  token: string,
  reportedAt?: Date,
): Promise<"removed" | "kept"> {
  const kv = env.DEVICES;
  const device = await getDevice(kv, userId, deviceId);
  if (!device) return "kept";
  if (reportedAt && Date.parse(device.updatedAt) > reportedAt.getTime()) return "kept";
  if (device.voipToken === token) {
    const { voipToken: _dead, ...rest } = device;
    await kv.put(await deviceKey(userId, deviceId), JSON.stringify(rest), { metadata: toMetadata(rest) });
    await kv.delete(await tokenKey("apns-voip", token));
    return "removed";
  }
  if (device.token !== token) return "kept";
  await deleteDevice(env, userId, deviceId);
  return "removed";
}

async function removeIfToken(env: DeviceBindings, userId: string, deviceId: string, token: string): Promise<void> {
  const device = await getDevice(env.DEVICES, userId, deviceId);
  if (device && (device.token === token || device.voipToken === token)) await removeDeadToken(env, userId, deviceId, token);
}
