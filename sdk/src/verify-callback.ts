/**
 * Verifies a callback ECODrIx sent to your `callbackUrl` (Standard Webhooks v1):
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")>`.
 * The key is the secret's UTF-8 bytes, or for a `whsec_` secret its base64-decoded bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface VerifyCallbackOptions {
  /** Largest allowed distance between the timestamp and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** Current time in ms (tests). */
  now?: number;
}

export class CallbackVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackVerificationError';
  }
}

/** Headers as a plain object (any case) or a WHATWG Headers instance. */
export type HeaderSource = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

function keyBytes(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** The `v1,<signature>` a sender would put in `webhook-signature` for these values. */
export function signCallback(secret: string, id: string, timestamp: number, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', keyBytes(secret));
  hmac.update(`${id}.${timestamp}.`);
  hmac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return `v1,${hmac.digest('base64')}`;
}

/**
 * Checks the signature and timestamp of a callback and returns its parsed JSON body.
 * Pass the RAW body exactly as received (not re-serialised JSON).
 * @throws CallbackVerificationError when anything does not match
 */
export function verifyCallback<T = CallbackPayload>(headers: HeaderSource, rawBody: string | Uint8Array, secret: string, options: VerifyCallbackOptions = {}): T {
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestampText || !signatures) throw new CallbackVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d{1,12}$/.test(timestampText)) throw new CallbackVerificationError('invalid webhook-timestamp');
  const timestamp = Number(timestampText);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(now - timestamp) > tolerance) throw new CallbackVerificationError('webhook-timestamp is outside the allowed tolerance');
  const expected = Buffer.from(signCallback(secret, id, timestamp, rawBody).slice(3), 'base64');
  const ok = signatures.split(' ').some((candidate) => {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!ok) throw new CallbackVerificationError('signature does not match (HMAC mismatch: check automationWebhookSecret)');
  const text = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
  return JSON.parse(text) as T;
}

/** Body of a workflow callback (`PUT callbackUrl`). */
export interface CallbackPayload {
  /** `completed` (sent), `failed`, `skipped` (run time already past: never sent late) or `cancelled`; `result` says why. */
  status: 'completed' | 'failed' | 'skipped' | 'cancelled' | (string & {});
  metadata: Record<string, unknown>;
  jobId?: string;
  trigger?: string;
  result?: Record<string, unknown>;
}
