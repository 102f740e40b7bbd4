/**
 * Standard Webhooks v1 signing (https://www.standardwebhooks.com): headers
 * `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`.
 * The key is the secret's UTF-8 bytes, or for a `whsec_` secret its base64-decoded bytes.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

export function signWebhook(secret: string, id: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** Headers for one delivery attempt (`timestamp` is this attempt's, in Unix seconds). */
export function webhookHeaders(secret: string, id: string, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) };
}

/** A fresh message id (`msg_` + 24 random hex chars; no dots). */
export function newWebhookId(): string {
  return `msg_${randomBytes(12).toString('hex')}`;
}

/** Verifies a delivery the way a receiver would (tolerance 300 s). */
export function verifyWebhook(secret: string, headers: Record<string, string | string[] | undefined>, body: string | Buffer, now = Math.floor(Date.now() / 1000)): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const ts = Number(headers['webhook-timestamp']);
  const signatures = String(headers['webhook-signature'] ?? '').split(' ');
  if (!id || !Number.isInteger(ts) || Math.abs(now - ts) > 300) return false;
  const expected = Buffer.from(signWebhook(secret, id, ts, body));
  return signatures.some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
