/** Keyring: AES-256-GCM round trip, tamper detection, key rotation, blind index. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Keyring, deriveKey, parseKey, parseKeyring } from './keyring.ts';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const indexKey = randomBytes(32);
const ring = new Keyring([{ id: 'k1', key: k1 }], indexKey);
const ctxA = 'client:1|client_secrets.whatsappToken';

function flip(envelope: string, part: number, bit = 0): string {
  const parts = envelope.split(':');
  const bytes = Buffer.from(parts[part], 'base64url');
  bytes[bit >> 3] ^= 1 << (bit & 7);
  parts[part] = bytes.toString('base64url');
  return parts.join(':');
}

describe('keyring', () => {
  it('round-trips any string, with a fresh IV each time', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => ring.decrypt(ring.encrypt(text, ctxA), ctxA) === text), { numRuns: 200 });
    const a = ring.encrypt('same', ctxA);
    const b = ring.encrypt('same', ctxA);
    assert.notEqual(a, b);
    const [version, keyId, iv, tag] = a.split(':');
    assert.equal(version, 'v1');
    assert.equal(keyId, 'k1');
    assert.equal(Buffer.from(iv, 'base64url').length, 12);
    assert.equal(Buffer.from(tag, 'base64url').length, 16);
  });

  it('detects tampering: flipped ciphertext bit, flipped tag bit, truncated tag, flipped IV', () => {
    const envelope = ring.encrypt('EAAG-secret-token-value', ctxA);
    assert.throws(() => ring.decrypt(flip(envelope, 4, 5), ctxA), /failed authentication/);
    assert.throws(() => ring.decrypt(flip(envelope, 3, 100), ctxA), /failed authentication/);
    assert.throws(() => ring.decrypt(flip(envelope, 2, 0), ctxA), /failed authentication/);
    const parts = envelope.split(':');
    parts[3] = Buffer.from(parts[3], 'base64url').subarray(0, 12).toString('base64url');
    assert.throws(() => ring.decrypt(parts.join(':'), ctxA), /tag/);
    assert.throws(() => ring.decrypt(envelope.slice(0, -4), ctxA), /failed authentication|malformed/);
    assert.throws(() => ring.decrypt('v1:k1:garbage', ctxA), /malformed/);
    assert.throws(() => ring.decrypt(envelope.replace(/^v1/, 'v9'), ctxA), /malformed/);
  });

  it('fails for an unknown or swapped key id', () => {
    const envelope = ring.encrypt('value', ctxA);
    assert.throws(() => ring.decrypt(envelope.replace(':k1:', ':k9:'), ctxA), /unknown key id k9/);
    // Same key material under another id: the key id is authenticated too.
    const twin = new Keyring([{ id: 'k1', key: k1 }, { id: 'kx', key: k1 }], indexKey);
    assert.throws(() => twin.decrypt(envelope.replace(':k1:', ':kx:'), ctxA), /failed authentication/);
    const other = new Keyring([{ id: 'k1', key: k2 }], indexKey);
    assert.throws(() => other.decrypt(envelope, ctxA), /failed authentication/);
  });

  it('binds a value to its client and field: moving it fails', () => {
    const envelope = ring.encrypt('value', ctxA);
    assert.throws(() => ring.decrypt(envelope, 'client:2|client_secrets.whatsappToken'), /failed authentication/);
    assert.throws(() => ring.decrypt(envelope, 'client:1|client_secrets.smtpPass'), /failed authentication/);
    assert.equal(ring.decrypt(envelope, ctxA), 'value');
  });

  it('decrypts under an old key after a new active key is added, and encrypts with the new one', () => {
    const old = ring.encrypt('before rotation', ctxA);
    const rotated = new Keyring([{ id: 'k2', key: k2 }, { id: 'k1', key: k1 }], indexKey);
    assert.equal(rotated.activeId, 'k2');
    assert.equal(rotated.decrypt(old, ctxA), 'before rotation');
    const fresh = rotated.encrypt('after rotation', ctxA);
    assert.equal(Keyring.keyIdOf(fresh), 'k2');
    assert.throws(() => ring.decrypt(fresh, ctxA), /unknown key id k2/);
  });

  it('blind index is stable, purpose-scoped, and independent of the encryption key', () => {
    const a = ring.blindIndex('client_secrets.whatsappPhoneNumberId', '1234567890');
    assert.equal(a, ring.blindIndex('client_secrets.whatsappPhoneNumberId', ' 1234567890 '));
    assert.equal(a, new Keyring([{ id: 'k2', key: k2 }, { id: 'k1', key: k1 }], indexKey).blindIndex('client_secrets.whatsappPhoneNumberId', '1234567890'));
    assert.notEqual(a, ring.blindIndex('client_secrets.whatsappWebhookToken', '1234567890'));
    assert.notEqual(a, ring.blindIndex('client_secrets.whatsappPhoneNumberId', '1234567891'));
    assert.notEqual(a, new Keyring([{ id: 'k1', key: k1 }], randomBytes(32)).blindIndex('client_secrets.whatsappPhoneNumberId', '1234567890'));
    assert.equal(a.includes('1234567890'), false);
  });

  it('parses keys and keyrings and refuses bad ones', () => {
    assert.equal(parseKey('ab'.repeat(32)).length, 32);
    assert.equal(parseKey(k1.toString('base64')).equals(k1), true);
    assert.throws(() => parseKey('short'), /32 bytes/);
    assert.deepEqual(parseKeyring(`new:${'01'.repeat(32)}, old:${'02'.repeat(32)}`).map((k) => k.id), ['new', 'old']);
    assert.throws(() => parseKeyring('nocolon'), /id:key/);
    assert.throws(() => new Keyring([], indexKey), /at least one key/);
    assert.throws(() => new Keyring([{ id: 'a', key: k1 }, { id: 'a', key: k2 }], indexKey), /repeated/);
    assert.throws(() => new Keyring([{ id: 'a', key: randomBytes(16) }], indexKey), /32 bytes/);
    assert.notDeepEqual(deriveKey(k1, 'blind-index'), deriveKey(k1, 'other'));
  });
});
