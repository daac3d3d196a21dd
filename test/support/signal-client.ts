/** A frame as received: a `type` and whatever else the protocol puts in it. */
export type Frame = { type: string; [key: string]: unknown };

/**
 * A signaling client over any standard WebSocket (workerd's or Node's). Frames are buffered in
 * arrival order; `next()` takes the next one (a different type than asked is an error, never
 * silently skipped), waiting at most `timeoutMs`.
 */
export class SignalClient {
  readonly frames: Frame[] = [];
  private waiter?: () => void;
  closed?: { code: number; reason: string };

  readonly ws: WebSocket;
  readonly protocol: string | null;

  // Plain fields, not parameter properties: the benchmarks run this file with Node's type stripping.
  constructor(ws: WebSocket, protocol: string | null = ws.protocol || null) {
    this.ws = ws;
    this.protocol = protocol;
    ws.addEventListener("message", (event) => {
      this.frames.push(JSON.parse(event.data as string) as Frame);
      this.waiter?.();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.waiter?.();
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  async next<T extends Frame = Frame>(type?: string, timeoutMs = 3000): Promise<T> {
    await this.until(() => this.frames.length > 0, `${type ?? "a frame"}`, timeoutMs, true);
    const frame = this.frames.shift()!;
    if (type && frame.type !== type) throw new Error(`expected a ${type} frame, got ${JSON.stringify(frame)}`);
    return frame as T;
  }

  /** Resolves with the close code and reason once the server closed the socket (bounded). */
  async closure(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    await this.until(() => this.closed !== undefined, "the socket to close", timeoutMs, false);
    return this.closed!;
  }

  close(): void {
    try {
      this.ws.close(1000, "bye");
    } catch {
      // already closed
    }
  }

  private async until(done: () => boolean, what: string, timeoutMs: number, failOnClose: boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (failOnClose && this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
