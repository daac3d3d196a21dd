import { z } from "zod";
import { configSection, optionalText, SECRET_CHARACTERS, wholeNumber } from "../platform/config";

/** A ratio variable (0..1) with a default. */
const ratio = (fallback: number) =>
  optionalText
    .pipe(z.string().regex(/^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$/, "must be a ratio between 0 and 1, like 0.2").optional())
    .transform((value) => (value === undefined ? fallback : Number(value)));

/**
 * The operator's view (docs/observability.md): where alerts go and when they fire, and the bearer
 * secret a Prometheus scraper may use for `/metrics` instead of an admin token.
 */
const OpsSection = z
  .object({
    ALERT_WEBHOOK_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    ALERT_WINDOW_MINUTES: wholeNumber(15, "minutes", 1).pipe(z.number().max(24 * 60, "must be at most 1440 (a day)")),
    ALERT_MIN_SAMPLES: wholeNumber(20, "events", 1),
    ALERT_PUSH_FAILURE_RATIO: ratio(0.2),
    ALERT_ICE_FAILURE_RATIO: ratio(0.15),
    ALERT_DEAD_LETTERS: wholeNumber(1, "messages", 1),
    METRICS_TOKEN: optionalText.pipe(
      z.string().min(32, "must be at least 32 characters").regex(SECRET_CHARACTERS, "must be hex or base64 (no quotes or spaces)").optional(),
    ),
  })
  .transform((env) => ({
    webhookUrl: env.ALERT_WEBHOOK_URL,
    thresholds: {
      windowMinutes: env.ALERT_WINDOW_MINUTES,
      minSamples: env.ALERT_MIN_SAMPLES,
      pushFailureRatio: env.ALERT_PUSH_FAILURE_RATIO,
      iceFailureRatio: env.ALERT_ICE_FAILURE_RATIO,
      deadLetters: env.ALERT_DEAD_LETTERS,
    },
    metricsToken: env.METRICS_TOKEN,
  }));

export const opsConfig = configSection("ops", OpsSection);
export type OpsConfig = ReturnType<typeof opsConfig>;
export type AlertThresholds = OpsConfig["thresholds"];
