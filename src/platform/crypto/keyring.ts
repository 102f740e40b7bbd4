/**
 * Secrets at rest: AES-256-GCM with a random 96-bit IV, a 16-byte tag that is
 * enforced on decrypt, and associated data that binds each value to where it
 * lives (`client:<id>|<field>`). Envelope: `v1:<keyId>:<iv>:<tag>:<ciphertext>`
 * (base64url parts). One key encrypts, every key in the ring decrypts, so the
 * key can be rotated without downtime (see `ecodrix secrets rotate-key`).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface KeyringKey {
  id: string;
  key: Buffer;
}

export class Keyring {
  readonly activeId: string;
  private readonly keys: Map<string, Buffer>;
  private readonly indexKey: Buffer;

  /**
   * @param keys the first key encrypts; all decrypt
   * @param blindIndexKey secret for blind indexes (separate purpose from encryption)
   */
  constructor(keys: KeyringKey[], blindIndexKey: Buffer) {
    if (keys.length === 0) throw new Error('keyring needs at least one key');
    this.keys = new Map();
    for (const { id, key } of keys) {
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error(`invalid key id ${JSON.stringify(id)}`);
      if (key.length !== 32) throw new Error(`encryption key ${id} must be exactly 32 bytes`);
      if (this.keys.has(id)) throw new Error(`encryption key id ${id} is repeated`);
      this.keys.set(id, key);
    }
    this.activeId = keys[0].id;
    if (blindIndexKey.length < 32) throw new Error('blind index key must be at least 32 bytes');
    this.indexKey = blindIndexKey;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Encrypts `plaintext`, binding it to `context` (e.g. `client:42|whatsappToken`). */
  encrypt(plaintext: string, context: string): string {
    const key = this.keys.get(this.activeId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.activeId, context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.activeId, b64(iv), b64(tag), b64(body)].join(':');
  }

  /** Decrypts an envelope made by `encrypt` with the same `context`; throws on any tampering. */
  decrypt(envelope: string, context: string): string {
    const parts = envelope.split(':');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new Error('malformed secret envelope');
    const [, keyId, ivText, tagText, bodyText] = parts;
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`secret encrypted under unknown key id ${keyId}`);
    const iv = unb64(ivText);
    const tag = unb64(tagText);
    if (iv.length !== IV_BYTES) throw new Error('malformed secret envelope (iv)');
    if (tag.length !== TAG_BYTES) throw new Error('malformed secret envelope (tag)');
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(keyId, context));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(unb64(bodyText)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('secret failed authentication (tampered, moved or wrong key)');
    }
  }

  /** Key id an envelope was encrypted under (for rotation). */
  static keyIdOf(envelope: string): string | undefined {
    const parts = envelope.split(':');
    return parts.length === 5 ? parts[1] : undefined;
  }

  /** HMAC-SHA256 blind index of a normalised value, scoped by purpose. Leaks equality only. */
  blindIndex(purpose: string, value: string): string {
    return createHmac('sha256', this.indexKey).update(`${purpose}\0${value.trim()}`).digest('base64url');
  }
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}|${keyId}|${context}`, 'utf8');
}

function b64(buf: Buffer): string {
  return buf.toString('base64url');
}

function unb64(text: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('malformed secret envelope (encoding)');
  return Buffer.from(text, 'base64url');
}

/** Parses a 32-byte key given as 64 hex characters or base64/base64url. */
export function parseKey(text: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const buf = Buffer.from(text, 'base64');
  if (buf.length !== 32) throw new Error('key must be 32 bytes (64 hex characters or base64)');
  return buf;
}

/** Parses `id:key,id:key` (first is active). */
export function parseKeyring(text: string): KeyringKey[] {
  return text.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const at = part.indexOf(':');
    if (at <= 0) throw new Error('ENCRYPTION_KEYS entries must look like id:key');
    return { id: part.slice(0, at), key: parseKey(part.slice(at + 1)) };
  });
}

/** Derives a purpose-specific key from a root key with HKDF-SHA256. */
export function deriveKey(root: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), `ecodrix:${purpose}`, 32));
}
