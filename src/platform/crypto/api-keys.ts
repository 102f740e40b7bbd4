/**
 * Client API keys: 32 random bytes in base62 with a recognisable prefix and a
 * CRC32 checksum (so typos are rejected offline), stored only as SHA-256.
 * Shape: `ecx_live_<43 base62 chars><6 base62 checksum chars>`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const API_KEY_PREFIX = 'ecx_live_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(bytes: Buffer, width: number): string {
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(width, '0');
}

function checksum(body: string): string {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(crc32(body) >>> 0);
  return base62(buf, 6);
}

/** Generates a new API key (show it once, store `hashApiKey(key)`). */
export function generateApiKey(): string {
  const body = base62(randomBytes(32), 43);
  return `${API_KEY_PREFIX}${body}${checksum(body)}`;
}

/** True when the key has our shape and a valid checksum (cheap offline check). */
export function isWellFormedApiKey(key: string): boolean {
  if (!key.startsWith(API_KEY_PREFIX) || key.length !== API_KEY_PREFIX.length + 49) return false;
  const rest = key.slice(API_KEY_PREFIX.length);
  if (!/^[0-9A-Za-z]+$/.test(rest)) return false;
  return checksum(rest.slice(0, 43)) === rest.slice(43);
}

/** SHA-256 of the key, hex. High-entropy keys need no slow hash. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time comparison of two strings of any length (hashes them first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** Last four characters, for display. */
export function keyHint(key: string): string {
  return `${API_KEY_PREFIX}…${key.slice(-4)}`;
}
