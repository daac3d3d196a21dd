/**
 * Structured logs: one JSON object per line, `level` and `event` first, so Workers Logs and
 * `wrangler tail` can filter on them. Nothing secret goes in `fields` (tokens are redacted by
 * the caller, keys never leave config).
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const WRITE: Record<LogLevel, (line: string) => void> = {
  debug: (line) => console.debug(line),
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/**
 * Writes one structured log line through the console method of its level.
 *
 * @example
 * log("warn", "apns_token_renewed_early", { ageSeconds: 300 });
 */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  WRITE[level](JSON.stringify({ level, event, ...fields }));
}
