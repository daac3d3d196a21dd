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

/**
 * `promise`'s outcome, or `fallback()`'s value once `ms` have passed without one (the timer is
 * cleared either way): for a dependency that may hang, where an answer of some kind must come.
 *
 * @example
 * const answer = await orAfter(limiter.limit({ key }), 3_000, () => "late" as const);
 */
export async function orAfter<T, F>(promise: Promise<T>, ms: number, fallback: () => F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback()), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
