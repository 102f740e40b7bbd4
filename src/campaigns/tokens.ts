/**
 * Signed tokens for links in emails (unsubscribe, open pixel, click redirect).
 * The payload names the client, so the public endpoints find the tenant without
 * auth headers; the HMAC (a purpose-scoped keyring HMAC) covers everything,
 * including a click's target URL, so links cannot be forged or turned into an
 * open redirect. Format: base64url(JSON).base64url(HMAC)[:22].
 */
import { timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../platform/crypto/keyring.ts';

export interface LinkToken {
  /** u = unsubscribe, o = open, c = click */
  t: 'u' | 'o' | 'c';
  /** client id */
  c: string;
  /** lower-cased recipient address */
  e: string;
  /** campaign id (absent for transactional mail) */
  k?: string;
  /** recipient row id */
  r?: number;
  /** click target */
  u?: string;
}

function sign(keyring: Keyring, body: string): string {
  return keyring.blindIndex('email-link-token', body).slice(0, 22);
}

export function createLinkToken(keyring: Keyring, token: LinkToken): string {
  const body = Buffer.from(JSON.stringify(token)).toString('base64url');
  return `${body}.${sign(keyring, body)}`;
}

/** Returns the payload when the signature is valid and the type matches; otherwise undefined. */
export function readLinkToken(keyring: Keyring, value: string, type: LinkToken['t']): LinkToken | undefined {
  const [body, signature, extra] = value.split('.');
  if (!body || !signature || extra !== undefined || body.length > 4000) return undefined;
  const expected = Buffer.from(sign(keyring, body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  try {
    const token = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkToken;
    if (token.t !== type || typeof token.c !== 'string' || typeof token.e !== 'string') return undefined;
    return token;
  } catch {
    return undefined;
  }
}
