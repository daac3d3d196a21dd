import { LogNotifier } from "./log";
import type { Notifier } from "./notifications";

/**
 * The notifier for this environment. Until FCM and APNs credentials can be configured, every
 * notification goes to the log provider (a documented zero-configuration mode).
 */
export function notifierFor(_env: Env): Notifier {
  return new LogNotifier();
}
