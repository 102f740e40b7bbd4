/**
 * One error type for the whole service. Code below the HTTP edge throws
 * `new AppError('LEAD_NOT_FOUND', { message })`; the error plugin maps the code
 * to an HTTP status through `statusByCode` and renders
 * `{ error: { code, message, requestId } }`.
 */
export const statusByCode = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  MALFORMED_MULTIPART: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Missing or wrong `x-core-api-key` / `x-api-key`. Same message for every cause. */
  UNAUTHORIZED: 401,
  INVALID_API_KEY: 401,
  INVALID_SIGNATURE: 401,
  FORBIDDEN: 403,
  CORS_ORIGIN_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  CLIENT_NOT_FOUND: 404,
  CONTACT_NOT_FOUND: 404,
  LEAD_NOT_FOUND: 404,
  PIPELINE_NOT_FOUND: 404,
  FIELD_NOT_FOUND: 404,
  SCORING_RULE_NOT_FOUND: 404,
  APPOINTMENT_NOT_FOUND: 404,
  /** A stage key that the lead's pipeline does not have. */
  STAGE_NOT_FOUND: 422,
  /** Another contact already has this phone or email (details.existingId names it). */
  DUPLICATE_CONTACT: 409,
  CONFLICT: 409,
  CLIENT_CODE_TAKEN: 409,
  PAYLOAD_TOO_LARGE: 413,
  /** The request was understood but cannot be carried out as asked (e.g. an unreachable datasource URI). */
  UNPROCESSABLE: 422,
  DATASOURCE_UNREACHABLE: 422,
  TEMPLATE_NOT_FOUND: 404,
  CONVERSATION_NOT_FOUND: 404,
  /** No webhook inbox row with that id. */
  WEBHOOK_NOT_FOUND: 404,
  TEMPLATE_PARAMETER_MISMATCH: 422,
  OUTSIDE_24H_WINDOW: 422,
  /** The template exists but is not APPROVED (pending, paused, disabled ...). */
  TEMPLATE_NOT_APPROVED: 422,
  /** Meta refused a WhatsApp request for a reason that needs a change of input (not retried). */
  WHATSAPP_REQUEST_REJECTED: 422,
  /** The WhatsApp simulator does not serve this client (it has a live token, or WHATSAPP_MODE=live). */
  SANDBOX_DISABLED: 409,
  RATE_LIMITED: 429,
  /** Email: campaign lookups, state transitions, templates, suppression, delivery. */
  CAMPAIGN_NOT_FOUND: 404,
  CAMPAIGN_STATE_CONFLICT: 409,
  TEMPLATE_VARIABLE_UNKNOWN: 422,
  EMAIL_SUPPRESSED: 422,
  EMAIL_SEND_FAILED: 502,
  INTERNAL: 500,
  /** The client has no tenant database registered (and auto-provisioning is off). */
  NO_TENANT_CONNECTION: 503,
  /** The client's tenant database is registered but cannot be reached right now. */
  TENANT_DB_UNAVAILABLE: 503,
  CONTROL_DB_UNAVAILABLE: 503,
  UPSTREAM_UNAVAILABLE: 502,
  GOOGLE_REAUTH_REQUIRED: 409,
  /** The client has not connected a Google account (and Google credentials are configured, so no sandbox). */
  GOOGLE_NOT_CONNECTED: 409,
  MEETING_NOT_FOUND: 404,
  /** GOOGLE_CLIENT_ID/SECRET unset: there is no real Google consent to start (meetings use the sandbox provider). */
  GOOGLE_NOT_CONFIGURED: 503,
  WHATSAPP_REAUTH_REQUIRED: 409,
  MEDIA_NOT_FOUND: 404,
  /** The message's media is pending, failed or unavailable (details.status). */
  MEDIA_NOT_READY: 409,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof statusByCode;

export interface AppErrorOptions {
  /** Human-readable message safe to show to the caller. */
  message?: string;
  /** Underlying error, logged but never sent to the caller. */
  cause?: unknown;
  /** Extra machine-readable details sent with the error (never secrets). */
  details?: Record<string, unknown>;
  /** Seconds for a `Retry-After` header (429/503). */
  retryAfterSeconds?: number;
  /** Override the status from `statusByCode` (rarely needed). */
  status?: number;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? code, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? statusByCode[code];
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** True when `err` is an AppError carrying `code` (or any AppError when no code is given). */
export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
