import { getDevice, listMetadata, userKeyPart, type Device } from "../devices/store";

/**
 * Topic membership, kept in KV as one key per member device (`top:<topic>:<user>:<deviceId>`,
 * `<user>` as in the device store, the ids in the metadata) so a topic send can reach APNs
 * devices, which have no topics of their own. FCM devices are also subscribed at FCM (Instance
 * ID API), so a topic send reaches them with one message.
 */
export const TOPIC = /^[A-Za-z0-9_.~%-]{1,200}$/;

const memberKey = async (topic: string, device: Device) => `top:${topic}:${await userKeyPart(device.userId)}:${device.deviceId}`;

export async function addMember(kv: KVNamespace, topic: string, device: Device): Promise<void> {
  await kv.put(await memberKey(topic, device), "", { metadata: { u: device.userId, d: device.deviceId } });
}

export async function removeMember(kv: KVNamespace, topic: string, device: Device): Promise<void> {
  await kv.delete(await memberKey(topic, device));
}

/** The member devices of a topic that still exist (optionally only APNs ones). */
export async function topicMembers(kv: KVNamespace, topic: string, options: { apnsOnly: boolean }): Promise<Device[]> {
  const members = await listMetadata<{ u: string; d: string }>(kv, `top:${topic}:`);
  const devices = await Promise.all(members.map(({ metadata }) => getDevice(kv, metadata.u, metadata.d)));
  return devices.filter((device): device is Device => device !== null && (!options.apnsOnly || device.provider === "apns"));
}
