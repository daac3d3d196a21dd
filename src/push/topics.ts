import { z } from "@hono/zod-openapi";
import { DeviceIdSchema, type Device } from "../devices/device";
import { fcmIdentity, type DeviceRemovedJob, type DeviceRetokenedJob } from "../devices/announcements";
import { getDevice, MAX_DEVICES_PER_USER, tokenOwner, userKeyPart } from "../devices/store";
import { log } from "../platform/log";
import type { PushContext } from "./context";
import type { ForgetMembershipJob, MoveMembershipJob, PushJob } from "./jobs";

/**
 * Topic membership, kept in KV as two keys per member device, so a topic send can reach APNs
 * devices (which have no topics of their own) and a removed device can leave every topic it
 * joined:
 *
 *   top:<topic>:<user>:<deviceId>     metadata {u, d, c}: the topic's members, listed a page at a time
 *   mem:<user>:<deviceId>/<topic>     metadata {c}: the device's topics, listed when it is removed
 *
 * `<user>` as in the device store; `c` is the device's `createdAt`, its generation: a device
 * registered later under the same id has another, so it never inherits a membership (a topic page
 * skips members of another generation, and clean-up never removes a newer generation's keys).
 * FCM devices are also subscribed at FCM (Instance ID API), so a topic send reaches them with one
 * message; a removed FCM device's token is unsubscribed there too.
 */
export const TopicSchema = z.string().regex(/^[A-Za-z0-9_.~%-]{1,200}$/, "topics are 1 to 200 of A-Z a-z 0-9 _ . ~ % -");

// A user has at most MAX_DEVICES_PER_USER devices, so one request names at most that many.
export const MembershipSchema = z.object({ deviceIds: z.array(DeviceIdSchema).min(1).max(MAX_DEVICES_PER_USER) }).strict();

export const MembershipResultSchema = z.object({
  topic: z.string(),
  results: z.array(z.object({ deviceId: z.string(), status: z.enum(["subscribed", "unsubscribed", "not_found", "failed"]), reason: z.string().optional() })),
});
export type MembershipResult = z.output<typeof MembershipResultSchema>;

/** The most topics one device joins: what its removal has to undo stays small. */
export const MAX_TOPICS_PER_DEVICE = 100;

/** Members per topic-members job (and memberships per device-removed job): one KV `list` page, one `sendBatch`. */
export const MEMBERS_PER_PAGE = 100;

type Member = Pick<Device, "userId" | "deviceId">;

const memberKey = async (topic: string, device: Member) => `top:${topic}:${await userKeyPart(device.userId)}:${device.deviceId}`;
// `/` ends the device id (device ids never hold one), so one device's prefix is never another's.
const membershipPrefix = async (device: Member) => `mem:${await userKeyPart(device.userId)}:${device.deviceId}/`;
const membershipKey = async (device: Member, topic: string) => `${await membershipPrefix(device)}${topic}`;

/** One page of a topic's members (ids only: a member device may be gone), and the next page's cursor. */
export async function topicMembersPage(
  kv: KVNamespace,
  topic: string,
  cursor: string | undefined,
): Promise<{ members: (Member & { generation?: string })[]; cursor?: string }> {
  const page = await kv.list<{ u: string; d: string; c?: string }>({ prefix: `top:${topic}:`, limit: MEMBERS_PER_PAGE, ...(cursor ? { cursor } : {}) });
  const members = page.keys.flatMap(({ metadata }) => (metadata ? [{ userId: metadata.u, deviceId: metadata.d, ...(metadata.c ? { generation: metadata.c } : {}) }] : []));
  return { members, ...(page.list_complete ? {} : { cursor: page.cursor }) };
}

/**
 * Subscribes or unsubscribes some of `userId`'s own devices: FCM devices at FCM first (a device
 * FCM refused is reported `failed` and left as it was), then every found device in KV. A device
 * already in {@link MAX_TOPICS_PER_DEVICE} topics joins no other.
 */
export async function changeMembership(
  push: PushContext,
  userId: string,
  topic: string,
  deviceIds: readonly string[],
  action: "subscribe" | "unsubscribe",
): Promise<MembershipResult> {
  const kv = push.env.DEVICES;
  // At most 20 devices: a read and (subscribing) a list each, two writes each, and one Instance
  // ID call for each app's FCM devices. A get, not a list: a device registered a moment ago is found.
  const found = await Promise.all(
    [...new Set(deviceIds)].map(async (deviceId) => {
      const device = await getDevice(kv, userId, deviceId);
      const full = device && action === "subscribe" ? await atTopicLimit(kv, device, topic) : false;
      return { deviceId, device, full };
    }),
  );
  const joining = found.flatMap(({ device, full }) => (device && !full ? [device] : []));
  // Each app's FCM devices at its own Firebase project: topics are per project.
  const fcmResults = new Map<string, { ok: boolean; reason?: string }>();
  for (const app of new Set(joining.map((device) => device.app))) {
    const fcmDevices = joining.filter((device) => device.provider === "fcm" && device.app === app);
    if (fcmDevices.length === 0) continue;
    const fcmTopics = push.provider("fcm", app).topics;
    if (!fcmTopics) continue;
    const results = await fcmTopics.change(topic, fcmDevices.map((device) => device.token), action === "subscribe" ? "add" : "remove");
    fcmDevices.forEach((device, i) => fcmResults.set(device.deviceId, results[i]!));
  }
  const results = await Promise.all(
    found.map(async ({ deviceId, device, full }) => {
      if (!device) return { deviceId, status: "not_found" as const };
      if (full) return { deviceId, status: "failed" as const, reason: `the device is in ${MAX_TOPICS_PER_DEVICE} topics, the most one joins` };
      const atFcm = fcmResults.get(deviceId);
      if (atFcm && !atFcm.ok) return { deviceId, status: "failed" as const, ...(atFcm.reason ? { reason: atFcm.reason } : {}) };
      const [member, membership] = await Promise.all([memberKey(topic, device), membershipKey(device, topic)]);
      if (action === "subscribe") {
        await kv.put(member, "", { metadata: { u: device.userId, d: device.deviceId, c: device.createdAt } });
        await kv.put(membership, "", { metadata: { c: device.createdAt } });
      } else {
        await kv.delete(member);
        await kv.delete(membership);
      }
      return { deviceId, status: action === "subscribe" ? ("subscribed" as const) : ("unsubscribed" as const) };
    }),
  );
  return { topic, results };
}

/** Whether `device` is in as many topics as it may join, not counting `topic` itself. */
async function atTopicLimit(kv: KVNamespace, device: Device, topic: string): Promise<boolean> {
  const prefix = await membershipPrefix(device);
  const page = await kv.list({ prefix, limit: MAX_TOPICS_PER_DEVICE });
  return page.keys.length >= MAX_TOPICS_PER_DEVICE && !page.keys.some((key) => key.name === `${prefix}${topic}`);
}

/**
 * One page of an announced device's memberships (devices/announcements.ts), one KV `list` per job:
 * a per-topic job for each of its generation's (`forget-membership` for a removed device,
 * `move-membership` for a re-tokened one), then the job for the next page.
 */
export async function walkMembershipPage(push: PushContext, job: DeviceRemovedJob | DeviceRetokenedJob): Promise<void> {
  const { device } = job;
  const prefix = await membershipPrefix(device);
  const page = await push.env.DEVICES.list<{ c?: string }>({ prefix, limit: MEMBERS_PER_PAGE, ...(job.cursor ? { cursor: job.cursor } : {}) });
  const topics = page.keys.filter((key) => !key.metadata?.c || key.metadata.c === device.createdAt).map((key) => key.name.slice(prefix.length));
  const perTopic = (topic: string): PushJob =>
    job.type === "device-removed" ? { type: "forget-membership", device, topic } : { type: "move-membership", device, topic, registeredAt: job.registeredAt };
  if (topics.length > 0) await push.env.PUSH_QUEUE.sendBatch(topics.map((topic) => ({ body: perTopic(topic) })));
  if (!page.list_complete) await push.env.PUSH_QUEUE.send({ ...job, cursor: page.cursor } satisfies PushJob);
  if (topics.length > 0 || !page.list_complete) {
    log("info", job.type === "device-removed" ? "device_topics_forgotten" : "device_topics_moving", { userId: device.userId, deviceId: device.deviceId, topics: topics.length, more: !page.list_complete });
  }
}

/**
 * Takes a removed device out of one topic: its two keys (unless a newer device under the same id
 * owns them now), and for an FCM token its subscription at FCM, unless the token's current owner
 * joined the topic itself. At most six KV operations. `retry` when FCM could not be reached.
 */
export async function forgetMembership(push: PushContext, job: ForgetMembershipJob): Promise<"done" | "retry"> {
  const { device, topic } = job;
  const kv = push.env.DEVICES;
  const membership = await membershipKey(device, topic);
  const current = await kv.getWithMetadata<{ c?: string }>(membership);
  const ours = current.value !== null && (!current.metadata?.c || current.metadata.c === device.createdAt);
  if (ours) {
    await kv.delete(await memberKey(topic, device));
    await kv.delete(membership);
  }
  return unsubscribeAtFcm(push, device, topic);
}

/**
 * Seconds a move waits for this location's KV to show the re-registration that queued it: KV
 * shows a write everywhere within about a minute, and the queue retries a job four times.
 */
export const KV_CATCH_UP_SECONDS = 30;

/**
 * Moves one topic's subscription at FCM from a device as it was (`job.device`) to the device as
 * it is now: the current token joins (when the device is still of that generation, still in the
 * topic, and on FCM), then the old token leaves (unless its current owner is in the topic, which
 * covers a device that went back to it). Reading the device now, not the announced one, makes the
 * jobs of two quick re-registrations agree in any order. `stale` while this location's KV still
 * shows the device from before the re-registration (it would subscribe the old token, then
 * unsubscribe it); `retry` when FCM could not be reached, or when the device was removed or
 * registered again while FCM was adding it (the add is taken back, and the next run starts from
 * the device as it is then). At most six KV operations.
 */
export async function moveMembership(push: PushContext, job: MoveMembershipJob): Promise<"done" | "retry" | "stale"> {
  const { device: before, topic } = job;
  const kv = push.env.DEVICES;
  const now = await getDevice(kv, before.userId, before.deviceId);
  if (now && now.createdAt === before.createdAt && now.updatedAt < job.registeredAt) return "stale";
  const member = now !== null && now.createdAt === before.createdAt && (await kv.get(await membershipKey(now, topic))) !== null;
  const fcmTopics = member && now.provider === "fcm" ? push.provider("fcm", now.app).topics : undefined;
  if (fcmTopics) {
    const [result] = await fcmTopics.change(topic, [now!.token], "add");
    if (result?.transient) return "retry";
    if (!result?.ok) log("warn", "fcm_topic_resubscribe_refused", { topic, deviceId: before.deviceId, reason: result?.reason });
    // A removal's clean-up that ran while FCM was adding would be undone by this add: check, and take it back.
    const after = await getDevice(kv, before.userId, before.deviceId);
    if (result?.ok && (after?.createdAt !== now!.createdAt || fcmIdentity(after) !== fcmIdentity(now!))) {
      await unsubscribeAtFcm(push, now!, topic);
      return "retry";
    }
  }
  const left = await unsubscribeAtFcm(push, before, topic);
  if (left === "done") log("info", "device_topic_moved", { topic, userId: before.userId, deviceId: before.deviceId, subscribed: fcmTopics !== undefined });
  return left;
}

/**
 * Unsubscribes `device`'s FCM token from `topic` at its app's FCM project, unless the token's
 * current owner is in the topic with that token at that project. `retry` when FCM could not be
 * reached; nothing to do off FCM. At most three KV reads.
 */
async function unsubscribeAtFcm(push: PushContext, device: Device, topic: string): Promise<"done" | "retry"> {
  const fcmTopics = device.provider === "fcm" ? push.provider("fcm", device.app).topics : undefined;
  if (!fcmTopics) return "done";
  const kv = push.env.DEVICES;
  const owner = await tokenOwner(kv, "fcm", device.token);
  if (owner && (await kv.get(await membershipKey(owner, topic))) !== null) {
    const holder = await getDevice(kv, owner.userId, owner.deviceId);
    if (holder && fcmIdentity(holder) === fcmIdentity(device)) return "done";
  }
  const [result] = await fcmTopics.change(topic, [device.token], "remove");
  if (result?.ok) return "done";
  if (result?.transient) return "retry";
  // FCM no longer knows the token (or never had it in the topic): nothing is subscribed there.
  log("info", "fcm_topic_unsubscribe_refused", { topic, deviceId: device.deviceId, reason: result?.reason });
  return "done";
}
