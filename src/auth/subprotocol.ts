/**
 * The service's WebSocket subprotocol, `signal.v1`, and the bearer token a browser offers beside
 * it as `bearer.<JWT>` (browsers cannot set an Authorization header on a WebSocket).
 */
export const SUBPROTOCOL = "signal.v1";
export const BEARER_PREFIX = "bearer.";

/** The offered subprotocols of a `sec-websocket-protocol` header. */
export const offeredSubprotocols = (header: string | null | undefined): string[] =>
  header ? header.split(",").map((value) => value.trim()) : [];

/**
 * The JWT offered as the `bearer.<JWT>` subprotocol next to `signal.v1`. Undefined when not
 * offered that way.
 */
export function subprotocolToken(header: string | null | undefined): string | undefined {
  const offered = offeredSubprotocols(header);
  if (!offered.includes(SUBPROTOCOL)) return undefined;
  return offered.find((value) => value.startsWith(BEARER_PREFIX))?.slice(BEARER_PREFIX.length);
}
