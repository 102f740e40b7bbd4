/**
 * Meta's `X-Hub-Signature-256`: lowercase hex HMAC-SHA256 of the exact request
 * bytes, keyed with an app secret. Compared in constant time; never over
 * re-serialised JSON (Meta escapes non-ASCII, so the bytes would differ).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The digest the header carries, or undefined when the header is missing or malformed. */
export function parseSignatureHeader(header: string | undefined): Buffer | undefined {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return undefined;
  const hex = header.slice(7).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

export function signBody(raw: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
}

/** True when `digest` (from parseSignatureHeader) is the HMAC of `raw` under `appSecret`. */
export function matchesSignature(raw: Buffer, digest: Buffer, appSecret: string): boolean {
  if (!appSecret) return false;
  const want = createHmac('sha256', appSecret).update(raw).digest();
  return digest.length === want.length && timingSafeEqual(digest, want);
}

/** Constant-time string equality (verify tokens). */
export function safeEqualText(a: string, b: string): boolean {
  const x = createHmac('sha256', 'verify-token').update(a).digest();
  const y = createHmac('sha256', 'verify-token').update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}
