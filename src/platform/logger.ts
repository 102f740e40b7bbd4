/**
 * pino logger options shared by the HTTP server, workers and the CLI.
 * Secrets never reach logs: credential headers, signatures, secret fields and
 * database URIs are redacted by path.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers["x-api-key"]',
  'req.headers["x-core-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["webhook-signature"]',
  '*.apiKey', '*.password', '*.smtpPass', '*.whatsappToken', '*.whatsappAppSecret', '*.whatsappWebhookToken',
  '*.automationWebhookSecret', '*.dbUri', '*.refreshToken', '*.accessToken', '*.token', '*.secret',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'ecodrix' },
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}

export type { Logger };
