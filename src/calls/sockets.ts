/** The header through which the Worker tells a room or a line who is upgrading (never from a client). */
export const USER_HEADER = "x-secureconnect-user";

/**
 * Closes a hibernatable socket without throwing: echoing a peer's close code where the runtime
 * allows it (1005, 1006 and 1015 are reserved for its own reports and throw if sent).
 */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  const safe = code === 1005 || code === 1006 || code === 1015 || code < 1000 ? 1000 : code;
  try {
    ws.close(safe, reason);
  } catch {
    // Already closing or closed.
  }
}
