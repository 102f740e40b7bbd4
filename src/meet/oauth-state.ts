/**
 * The OAuth `state`: `<payload>.<signature>` where the payload (base64url JSON)
 * names the client, a nonce (also set as a cookie on the operator's browser,
 * so the callback must come back to the browser that started) and an expiry,
 * and the signature is an HMAC under a key derived from the keyring.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../platform/crypto/keyring.ts';

const PURPOSE = 'google-oauth-state';
const CONNECT_PURPOSE = 'google-connect-link';

export interface OAuthState {
  clientId: string;
  nonce: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type StateCheck = { ok: true; state: OAuthState } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

/** Signs a fresh state for `clientId`, valid `ttlSeconds`. */
export function signState(keyring: Keyring, clientId: string, ttlSeconds: number, now = Date.now(), purpose = PURPOSE): { state: string; nonce: string } {
  const nonce = randomBytes(16).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ c: clientId, n: nonce, e: Math.floor(now / 1000) + ttlSeconds })).toString('base64url');
  return { state: `${payload}.${keyring.blindIndex(purpose, payload)}`, nonce };
}

/** A connect-link token (same format, another purpose, so a state is never accepted as a link token or back). */
export function signConnectToken(keyring: Keyring, clientId: string, ttlSeconds: number, now = Date.now()): string {
  return signState(keyring, clientId, ttlSeconds, now, CONNECT_PURPOSE).state;
}

export function verifyConnectToken(keyring: Keyring, token: string, now = Date.now()): StateCheck {
  return verifyState(keyring, token, now, CONNECT_PURPOSE);
}

/** Verifies signature and expiry (in that order, so a forged state never reveals anything). */
export function verifyState(keyring: Keyring, state: string, now = Date.now(), purpose = PURPOSE): StateCheck {
  const parts = state.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return { ok: false, reason: 'malformed' };
  const [payload, signature] = parts;
  const expected = Buffer.from(keyring.blindIndex(purpose, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad_signature' };
  let decoded: { c?: unknown; n?: unknown; e?: unknown };
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof decoded.c !== 'string' || typeof decoded.n !== 'string' || typeof decoded.e !== 'number') return { ok: false, reason: 'malformed' };
  if (decoded.e * 1000 < now) return { ok: false, reason: 'expired' };
  return { ok: true, state: { clientId: decoded.c, nonce: decoded.n, exp: decoded.e } };
}
