import { z } from "zod";

/**
 * The machinery behind the service's configuration. Each feature declares its own section of
 * environment variables beside its code (`turn/config.ts`, `push/config.ts`, …) with
 * {@link configSection}; a section parses on first use, on its own, and is memoised per env
 * object. A malformed value makes reading *that* section throw a {@link ConfigError} naming the
 * variable (never its value), which `onError` turns into a logged `500 internal`; every other
 * section keeps working, so a broken `APNS_KEY` costs APNs deliveries, not ICE servers or calls.
 */

/** Thrown when a section of the environment does not parse; carries the variable names, never values. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join("; ")}`);
  }

  /** The variables to check, each once: what an operator is told (never the values). */
  get variables(): string[] {
    return [...new Set(this.problems.map((problem) => problem.variable))];
  }
}

/** One section of the configuration: call it with the Worker's env for the parsed, typed value. */
export interface ConfigSection<T> {
  (env: object): T;
  readonly sectionName: string;
}

const registered: ConfigSection<unknown>[] = [];

// The env object of a Worker is the same for every request an isolate serves, so each section is
// memoised per env object (tests that pass their own env get their own parse).
const parsed = new WeakMap<object, Map<string, { value: unknown } | ConfigError>>();

/**
 * Declares a section: `schema` reads the env object (it picks its own variables) and turns them
 * into what the feature uses. The section is listed by {@link configSections}, for readiness.
 *
 * @example
 * export const turnConfig = configSection("turn", TurnSection);
 * const { pools } = turnConfig(c.env);
 */
export function configSection<T>(sectionName: string, schema: z.ZodType<T>): ConfigSection<T> {
  const read = ((env: object): T => {
    let sections = parsed.get(env);
    if (!sections) {
      sections = new Map();
      parsed.set(env, sections);
    }
    let result = sections.get(sectionName);
    if (!result) {
      result = parseSection(schema, env);
      sections.set(sectionName, result);
    }
    if (result instanceof ConfigError) throw result;
    return result.value as T;
  }) as ConfigSection<T>;
  Object.defineProperty(read, "sectionName", { value: sectionName });
  registered.push(read);
  return read;
}

/** Every section declared so far (each feature's config module declares its own on import). */
export const configSections = (): readonly ConfigSection<unknown>[] => registered;

/**
 * A section's value, `undefined` when its feature is not configured, or its {@link ConfigError}:
 * for callers that degrade (push providers) rather than fail.
 */
export function tryConfig<T>(section: ConfigSection<T>, env: object): T | ConfigError {
  try {
    return section(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

/**
 * What one section of `env` amounts to, for readiness: parsed (`ok`), unset where the feature
 * may be left out (`not_configured`: its value is `undefined`, e.g. FCM without a service
 * account), or the variables to fix (`invalid`). Never a value.
 */
export type SectionState = { status: "ok" } | { status: "not_configured" } | { status: "invalid"; variables: string[] };

/** The state of every section declared so far, by name (parsing each one that was not yet). */
export function sectionStates(env: object): Record<string, SectionState> {
  const states: Record<string, SectionState> = {};
  for (const section of registered) {
    const value = tryConfig(section, env);
    states[section.sectionName] =
      value instanceof ConfigError ? { status: "invalid", variables: value.variables } : value === undefined ? { status: "not_configured" } : { status: "ok" };
  }
  return states;
}

function parseSection(schema: z.ZodType, env: object): { value: unknown } | ConfigError {
  const outcome = schema.safeParse(env);
  if (outcome.success) return { value: outcome.data };
  return new ConfigError(
    outcome.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? "environment"),
      message: issue.path.length > 1 ? `${issue.path.slice(1).join(".")}: ${issue.message}` : issue.message,
    })),
  );
}

// ── Value helpers the sections share ────────────────────────────────────────────────────────

/** A comma-separated list, trimmed, without empty items. */
export const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

export const wholeNumber = (fallback: number, unit: string, min: number) =>
  z
    .string()
    .regex(/^[0-9]{1,9}$/, `must be a whole number of ${unit}`)
    .optional()
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .pipe(z.number().min(min, `must be at least ${min}`));

export const seconds = (fallback: number, min = 0) => wholeNumber(fallback, "seconds", min);

/** An optional text variable: blank counts as unset. */
export const optionalText = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

/** A JSON variable may arrive as a string (secret, .dev.vars) or already parsed ([vars] table). */
export const json = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value, ctx) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "is not valid JSON" });
      return z.NEVER;
    }
  }, schema);

/** An http(s) base URL with a default, without trailing slashes. */
export const serviceUrl = (fallback: string) =>
  optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()).transform((value) => (value ?? fallback).replace(/\/+$/, ""));

/** A secret that travels in a header or a config file: hex or base64 only, no quotes or spaces. */
export const SECRET_CHARACTERS = /^[A-Za-z0-9_\-+/=.]+$/;
