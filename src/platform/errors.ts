import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "@hono/zod-openapi";
import { ConfigError } from "./config";
import { log } from "./log";

/** The error codes of the contract (section 1), each with its usual status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The one error body of the API: `{"error": {"code", "message", "details"?}}`. */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string().openapi({ example: "ttl must be a whole number of seconds" }),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export interface ApiErrorOptions {
  /** Machine-readable detail, returned as `error.details` (e.g. the validation issues). */
  details?: unknown;
  /** Extra response headers (`retry-after`, `allow`, …). */
  headers?: Record<string, string>;
  /** The HTTP status when it is not the code's usual one (426 for a missing upgrade). */
  status?: ContentfulStatusCode;
  /** What caused it, for logs; never sent to the client. */
  cause?: unknown;
}

/**
 * An error the API reports to its client as is. Throw it from any handler or middleware; a
 * Durable Object answers with {@link ApiError.getResponse} itself. It renders itself, so routes
 * and objects share one error shape.
 *
 * @example
 * throw new ApiError("not_found", "no such call");
 * throw new ApiError("rate_limited", "too many calls", { headers: { "retry-after": "30" } });
 * return new ApiError("forbidden", "not a participant of this call").getResponse();
 */
export class ApiError extends HTTPException {
  readonly details: unknown;
  readonly headers: Record<string, string> | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(options.status ?? ERROR_STATUS[code], { message, cause: options.cause });
    this.details = options.details;
    this.headers = options.headers;
  }

  /** The contract's error body: `{"error": {"code", "message", "details"?}}`. */
  body() {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }

  /** The JSON response (every 401 also challenges for a bearer token, RFC 6750). */
  override getResponse(): Response {
    const headers = this.code === "unauthorized" ? { ...CHALLENGE, ...this.headers } : this.headers;
    return Response.json(this.body(), { status: this.status, ...(headers ? { headers } : {}) });
  }
}

// Every 401 challenges for a bearer token, whichever check refused the request.
const CHALLENGE = { "www-authenticate": 'Bearer realm="secureconnect"' };

const CODE_FOR_STATUS: Partial<Record<number, ErrorCode>> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  422: "invalid_request",
  429: "rate_limited",
};

/**
 * The app's single `onError`: an {@link ApiError} is answered as it is; Hono's own
 * `HTTPException`s (body limits, malformed JSON) get the code of their status; anything else is
 * logged and answered `500 internal` without a stack trace or a secret.
 */
export function onError(err: Error, c: Context): Response {
  return asApiError(err, c).getResponse();
}

function asApiError(err: Error, c: Context): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException && err.status === 415) {
    // The validators' "Unsupported Media Type": the contract's invalid_request is a 400 or 422.
    return new ApiError("invalid_request", "the request body must be JSON, sent with content-type: application/json");
  }
  if (err instanceof HTTPException && err.status < 500) {
    const code = CODE_FOR_STATUS[err.status] ?? "invalid_request";
    return new ApiError(code, err.message || code.replace("_", " "), { status: err.status as ContentfulStatusCode });
  }
  if (err instanceof ConfigError) {
    log("error", "config_invalid", { problems: err.problems });
    return new ApiError("internal", `service misconfigured: check ${err.variables.join(", ")}`);
  }
  log("error", "unhandled_error", { method: c.req.method, path: c.req.path, error: err.name, message: err.message });
  return new ApiError("internal", "internal error");
}

/** Turns a zod validation failure into the contract's `invalid_request` error. */
export function invalidRequest(error: z.ZodError, where: string): ApiError {
  const issues = error.issues.map((issue) => ({ path: [where, ...issue.path].join("."), message: issue.message }));
  return new ApiError("invalid_request", `invalid ${where}: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`, { details: { issues } });
}
