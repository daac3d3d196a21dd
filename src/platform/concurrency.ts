/**
 * Runs `task` over `items` with at most `limit` at once, in order of start.
 *
 * @example
 * await eachLimited(devices, 6, (device) => send(device));
 */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
