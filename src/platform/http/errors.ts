/**
 * One place that turns errors into HTTP: AppError codes through statusByCode,
 * Fastify's own errors (validation, body too large, bad content type) into our
 * codes, anything else into a 500 that hides its details.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, type ErrorCode } from '../errors.ts';
import { isDatabaseUnavailable } from '../db/pool.ts';

const fastifyCodeMap: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_INVALID_URL: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

/**
 * PostgreSQL data errors (class 22) caused by a value the caller sent — a NUL byte in a
 * string, an id that is not a UUID, a number or date out of range — are the caller's
 * mistake: 400, never 500. (Schemas catch most of these first; this is the net below them.)
 */
const CLIENT_DATA_ERRORS: Record<string, string> = {
  '22021': 'Request contains characters that cannot be stored (e.g. a NUL byte)',
  '22P02': 'A value has the wrong format (e.g. an id that is not a UUID)',
  '22P05': 'Request contains characters that cannot be stored',
  '22003': 'A number is out of range',
  '22007': 'A date or time has the wrong format',
  '22008': 'A date or time is out of range',
  '22001': 'A value is too long',
  '2201W': 'A limit is out of range',
  '2201X': 'An offset is out of range',
};

function clientDataError(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? CLIENT_DATA_ERRORS[code] : undefined;
}

const messages: Partial<Record<ErrorCode, string>> = {
  PAYLOAD_TOO_LARGE: 'Request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported Content-Type',
  MALFORMED_JSON: 'Malformed JSON body',
};

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError | Error, request, reply) => {
    let appError: AppError;
    if (error instanceof AppError) {
      appError = error;
    } else if ('code' in error && typeof error.code === 'string' && fastifyCodeMap[error.code]) {
      const code = fastifyCodeMap[error.code];
      const message = code === 'VALIDATION_FAILED' ? `Invalid request: ${error.message}` : messages[code] ?? error.message;
      appError = new AppError(code, { message });
    } else if ('statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Other Fastify client errors (e.g. prototype poisoning) keep their status with a generic code.
      appError = new AppError('BAD_REQUEST', { status: error.statusCode, message: error.message });
    } else if (clientDataError(error)) {
      appError = new AppError('BAD_REQUEST', { message: clientDataError(error)!, cause: error });
    } else if (isDatabaseUnavailable(error)) {
      // A database that went away mid-request: 503 with Retry-After, never a 500. After tenant
      // authentication the database in question is (almost always) the client's own.
      const tenant = (request as { client?: unknown }).client !== undefined;
      appError = new AppError(tenant ? 'TENANT_DB_UNAVAILABLE' : 'CONTROL_DB_UNAVAILABLE', {
        message: tenant ? 'The client database is unavailable right now' : 'The database is unavailable right now',
        retryAfterSeconds: 5,
        cause: error,
      });
    } else {
      appError = new AppError('INTERNAL', { message: 'Internal server error', cause: error });
    }
    if (appError.status >= 500) {
      request.log.error({ err: error, code: appError.code }, 'request failed');
    } else {
      request.log.info({ code: appError.code, status: appError.status }, appError.message);
    }
    if (appError.retryAfterSeconds) reply.header('retry-after', String(appError.retryAfterSeconds));
    const message = appError.status >= 500 && appError.code === 'INTERNAL' ? 'Internal server error' : appError.message;
    reply.status(appError.status).send({
      error: { code: appError.code, message, requestId: request.id, ...(appError.details ? { details: appError.details } : {}) },
    });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found`, requestId: request.id } });
  });
}

/** OpenAPI schema of the error body, for route `response` sections. */
export const ErrorBodySchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
      required: ['code', 'message', 'requestId'],
    },
  },
  required: ['error'],
} as const;
