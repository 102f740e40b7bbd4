/**
 * Short-lived dashboard tokens for the Socket.io handshake, so a browser never
 * needs the API key: `<payload>.<mac>` (base64url), payload
 * `{ c: clientId, e: expiry (unix s), k: fingerprint of the client's API key hash }`.
 * Rotating the API key invalidates outstanding tokens.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../platform/crypto/keyring.ts';

function secretOf(keyring: Keyring): Buffer {
  return Buffer.from(keyring.blindIndex('realtime-token', 'hmac-key-v1'), 'base64url');
}

export function apiKeyFingerprint(apiKeyHash: string): string {
  return createHash('sha256').update(apiKeyHash).digest('base64url').slice(0, 12);
}

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(`realtime\0${payload}`).digest();
}

export function createRealtimeToken(keyring: Keyring, input: { clientId: string; apiKeyHash: string; expiresAt: Date }): string {
  const payload = Buffer.from(JSON.stringify({
    c: input.clientId, e: Math.floor(input.expiresAt.getTime() / 1000), k: apiKeyFingerprint(input.apiKeyHash),
  })).toString('base64url');
  return `${payload}.${mac(secretOf(keyring), payload).toString('base64url')}`;
}

/** Client id and key fingerprint of a valid, unexpired token; null for anything else. */
export function verifyRealtimeToken(keyring: Keyring, token: string, now = Date.now()): { clientId: string; keyFingerprint: string } | null {
  if (typeof token !== 'string' || token.length > 1024) return null;
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(secretOf(keyring), payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { c?: unknown; e?: unknown; k?: unknown };
    if (typeof data.c !== 'string' || typeof data.e !== 'number' || typeof data.k !== 'string') return null;
    if (data.e * 1000 <= now) return null;
    return { clientId: data.c, keyFingerprint: data.k };
  } catch {
    return null;
  }
}
