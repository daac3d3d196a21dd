/**
 * Polls `read` until `done` says yes, at most 50 times 100 ms apart, and returns the last value:
 * for what happens in the background (metrics flushes), never a bare sleep.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 50 && !done(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}
