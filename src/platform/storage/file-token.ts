/**
 * HMAC-signed, expiring tokens naming one stored object, for serving local-disk
 * files through `GET /api/saas/media/files/:token`: `<payload>.<mac>`, both
 * base64url, payload `{ k: key, e: expiry (unix s), t?: content type, f?: filename }`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface FileTokenClaims {
  key: string;
  expiresAt: Date;
  contentType?: string;
  filename?: string;
}

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(`media-file\0${payload}`).digest();
}

export function createFileToken(secret: Buffer, claims: FileTokenClaims): string {
  const payload = Buffer.from(JSON.stringify({
    k: claims.key, e: Math.floor(claims.expiresAt.getTime() / 1000), t: claims.contentType, f: claims.filename,
  })).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** Returns the claims of a valid, unexpired token; null otherwise (one answer for every failure). */
export function verifyFileToken(secret: Buffer, token: string, now = Date.now()): FileTokenClaims | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 4096) return null;
  const payload = token.slice(0, dot);
  // Compared as text, not decoded: base64url decoding ignores the unused low bits of the last
  // character, so a token with its last character changed would otherwise still verify.
  const given = Buffer.from(token.slice(dot + 1), 'utf8');
  const expected = Buffer.from(mac(secret, payload).toString('base64url'), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { k?: unknown; e?: unknown; t?: unknown; f?: unknown };
    if (typeof data.k !== 'string' || typeof data.e !== 'number') return null;
    if (data.e * 1000 <= now) return null;
    return {
      key: data.k,
      expiresAt: new Date(data.e * 1000),
      contentType: typeof data.t === 'string' ? data.t : undefined,
      filename: typeof data.f === 'string' ? data.f : undefined,
    };
  } catch {
    return null;
  }
}
