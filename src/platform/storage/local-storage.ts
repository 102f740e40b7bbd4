/**
 * Local-disk storage under `<DATA_DIR>/media`. Keys are validated segment by
 * segment and the resolved path is checked to stay under the root, so no key
 * can reach outside it. Writes go to a temporary file renamed into place, so a
 * reader never sees a half-written object.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { createFileToken, verifyFileToken, type FileTokenClaims } from './file-token.ts';
import { assertSafeKey, type ObjectStorage, type StoredObject } from './storage.ts';

export interface LocalStorageOptions {
  root: string;
  /** Secret for signed file tokens. */
  tokenSecret: Buffer;
  /** Path (or URL) prefix the signed token is appended to, e.g. `/api/saas/media/files/`. */
  urlPrefix: string;
}

export class LocalStorage implements ObjectStorage {
  readonly kind = 'local' as const;
  readonly root: string;
  private readonly tokenSecret: Buffer;
  private readonly urlPrefix: string;

  constructor(options: LocalStorageOptions) {
    this.root = path.resolve(options.root);
    this.tokenSecret = options.tokenSecret;
    this.urlPrefix = options.urlPrefix;
  }

  /** Absolute path of a key; throws for anything that would leave the root. */
  pathOf(key: string): string {
    assertSafeKey(key);
    const full = path.resolve(this.root, ...key.split('/'));
    if (!full.startsWith(this.root + path.sep)) throw new Error('storage key escapes the storage root');
    return full;
  }

  async put(key: string, body: Buffer | Readable, contentType: string): Promise<void> {
    void contentType; // the type travels in the message row and the signed token
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, createWriteStream(temp, { flags: 'wx', mode: 0o640 }));
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    const file = this.pathOf(key);
    try {
      const info = await stat(file);
      if (!info.isFile()) return null;
      return { body: createReadStream(file), size: info.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async signedUrl(key: string, ttlSeconds: number, options: { filename?: string; contentType?: string } = {}): Promise<string> {
    assertSafeKey(key);
    const token = createFileToken(this.tokenSecret, {
      key, expiresAt: new Date(Date.now() + ttlSeconds * 1000), contentType: options.contentType, filename: options.filename,
    });
    return `${this.urlPrefix}${token}`;
  }

  /** Claims of a token made by `signedUrl`, or null when forged, malformed or expired. */
  verifyToken(token: string): FileTokenClaims | null {
    const claims = verifyFileToken(this.tokenSecret, token);
    if (!claims) return null;
    try {
      assertSafeKey(claims.key);
    } catch {
      return null;
    }
    return claims;
  }
}
