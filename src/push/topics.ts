import { getDevice, type Device } from "../devices/store";

/**
 * Topic membership, kept in KV as one key per member device (`top:<topic>:<userId>:<deviceId>`)
 * so a topic send can reach APNs devices, which have no topics of their own. FCM devices are
 * also subscribed at FCM (Instance ID API), so a topic send reaches them with one message.
 */
export const TOPIC = /^[A-Za-z0-9_.~%-]{1,200}$/;

const memberKey = (topic: string, userId: string, deviceId: string) => `top:${topic}:${userId}:${deviceId}`;

export async function addMember(kv: KVNamespace, topic: string, device: Device): Promise<void> {
  await kv.put(memberKey(topic, device.userId, device.deviceId), "", { metadata: { u: device.userId, d: device.deviceId } });
}

export async function removeMember(kv: KVNamespace, topic: string, device: Device): Promise<void> {
  await kv.delete(memberKey(topic, device.userId, device.deviceId));
}

/** The member devices of a topic that still exist (optionally only APNs ones). */
export async function topicMembers(kv: KVNamespace, topic: string, options: { apnsOnly: boolean }): Promise<Device[]> {
  const members: { u: string; d: string }[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list<{ u: string; d: string }>({ prefix: `top:${topic}:`, ...(cursor ? { cursor } : {}) });
    for (const key of page.keys) if (key.metadata) members.push(key.metadata);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  const devices = await Promise.all(members.map((member) => getDevice(kv, member.u, member.d)));
  return devices.filter((device): device is Device => device !== null && (!options.apnsOnly || device.provider === "apns"));
}
