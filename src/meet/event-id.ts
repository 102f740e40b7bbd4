/** Deterministic Calendar event ids: base32hex (`0-9a-v`, allowed by Google) of SHA-256(client, idempotency key). */
import { createHash } from 'node:crypto';

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

function base32hex(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32HEX[(value << (5 - bits)) & 31];
  return out;
}

/** The event id for this client and idempotency key (52 characters, same input → same id). */
export function eventIdFor(clientId: string, idempotencyKey: string): string {
  return base32hex(createHash('sha256').update(`ecodrix-meet\0${clientId}\0${idempotencyKey}`).digest());
}
