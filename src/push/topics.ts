import { z } from "@hono/zod-openapi";
import { DeviceIdSchema, type Device } from "../devices/device";
import { getDevice, MAX_DEVICES_PER_USER, userKeyPart } from "../devices/store";
import type { PushContext } from "./context";

/**
 * Topic membership, kept in KV as one key per member device (`top:<topic>:<user>:<deviceId>`,
 * `<user>` as in the device store, the ids in the metadata) so a topic send can reach APNs
 * devices, which have no topics of their own. FCM devices are also subscribed at FCM (Instance
 * ID API), so a topic send reaches them with one message.
 */
export const TopicSchema = z.string().regex(/^[A-Za-z0-9_.~%-]{1,200}$/, "topics are 1 to 200 of A-Z a-z 0-9 _ . ~ % -");

// A user has at most MAX_DEVICES_PER_USER devices, so one request names at most that many.
export const MembershipSchema = z.object({ deviceIds: z.array(DeviceIdSchema).min(1).max(MAX_DEVICES_PER_USER) }).strict();

export const MembershipResultSchema = z.object({
  topic: z.string(),
  results: z.array(z.object({ deviceId: z.string(), status: z.enum(["subscribed", "unsubscribed", "not_found", "failed"]), reason: z.string().optional() })),
});
export type MembershipResult = z.output<typeof MembershipResultSchema>;

const memberKey = async (topic: string, device: Device) => `top:${topic}:${await userKeyPart(device.userId)}:${device.deviceId}`;

/** Members per topic-members job: one KV `list` page, one queue `sendBatch`. */
export const MEMBERS_PER_PAGE = 100;

/** One page of a topic's members (ids only: a member device may be gone), and the next page's cursor. */
export async function topicMembersPage(
  kv: KVNamespace,
  topic: string,
  cursor: string | undefined,
): Promise<{ members: { userId: string; deviceId: string }[]; cursor?: string }> {
  const page = await kv.list<{ u: string; d: string }>({ prefix: `top:${topic}:`, limit: MEMBERS_PER_PAGE, ...(cursor ? { cursor } : {}) });
  const members = page.keys.flatMap(({ metadata }) => (metadata ? [{ userId: metadata.u, deviceId: metadata.d }] : []));
  return { members, ...(page.list_complete ? {} : { cursor: page.cursor }) };
}

/**
 * Subscribes or unsubscribes some of `userId`'s own devices: FCM devices at FCM first (a device
 * FCM refused is reported `failed` and left as it was), then every found device in KV.
 */
export async function changeMembership(
  push: PushContext,
  userId: string,
  topic: string,
  deviceIds: readonly string[],
  action: "subscribe" | "unsubscribe",
): Promise<MembershipResult> {
  const kv = push.env.DEVICES;
  // At most 20 reads and 20 writes (a get, not a list: a device registered a moment ago is found),
  // and one Instance ID call for all the FCM devices.
  const found = await Promise.all([...new Set(deviceIds)].map(async (deviceId) => ({ deviceId, device: await getDevice(kv, userId, deviceId) })));
  const fcmDevices = found.flatMap(({ device }) => (device?.provider === "fcm" ? [device] : []));
  const fcmResults = new Map<string, { ok: boolean; reason?: string }>();
  const fcmTopics = push.provider("fcm").topics;
  if (fcmTopics && fcmDevices.length > 0) {
    const results = await fcmTopics.change(topic, fcmDevices.map((device) => device.token), action === "subscribe" ? "add" : "remove");
    fcmDevices.forEach((device, i) => fcmResults.set(device.deviceId, results[i]!));
  }
  const results = await Promise.all(
    found.map(async ({ deviceId, device }) => {
      if (!device) return { deviceId, status: "not_found" as const };
      const atFcm = fcmResults.get(deviceId);
      if (atFcm && !atFcm.ok) return { deviceId, status: "failed" as const, ...(atFcm.reason ? { reason: atFcm.reason } : {}) };
      const key = await memberKey(topic, device);
      if (action === "subscribe") await kv.put(key, "", { metadata: { u: device.userId, d: device.deviceId } });
      else await kv.delete(key);
      return { deviceId, status: action === "subscribe" ? ("subscribed" as const) : ("unsubscribed" as const) };
    }),
  );
  return { topic, results };
}
