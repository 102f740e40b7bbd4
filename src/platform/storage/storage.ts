/**
 * Object storage for archived files (media, exports): local disk under
 * DATA_DIR by default, any S3-compatible service (AWS S3, Cloudflare R2,
 * MinIO) when S3_* settings are given. Keys are `/`-separated paths such as
 * `clients/<clientId>/media/<messageId>/<sha256>.jpg`; callers build them from
 * ids and hashes only, never from user-supplied names.
 */
import type { Readable } from 'node:stream';

export interface StoredObject {
  body: Readable;
  contentType?: string;
  size?: number;
}

export interface ObjectStorage {
  readonly kind: 'local' | 's3';
  /** Writes (or replaces) an object. `body` may be a stream when `size` is given. */
  put(key: string, body: Buffer | Readable, contentType: string, size?: number): Promise<void>;
  /** Opens an object for reading; null when it does not exist. */
  get(key: string): Promise<StoredObject | null>;
  /** Deletes an object (no error when missing). */
  delete(key: string): Promise<void>;
  /**
   * A URL that reads the object for `ttlSeconds` without other credentials: a presigned
   * URL for S3, a path with an HMAC-signed expiring token for local disk (served by the
   * media files route).
   */
  signedUrl(key: string, ttlSeconds: number, options?: { filename?: string; contentType?: string }): Promise<string>;
}

/** Rejects keys that could escape a prefix or confuse a backend: only [A-Za-z0-9._-] segments, no `.`/`..`. */
export function assertSafeKey(key: string): void {
  if (key.length === 0 || key.length > 512) throw new Error('storage key must be 1-512 characters');
  for (const segment of key.split('/')) {
    if (!/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..') {
      throw new Error(`invalid storage key segment ${JSON.stringify(segment.slice(0, 40))}`);
    }
  }
}

/** A filename safe for `Content-Disposition` (ASCII fallback + RFC 5987 UTF-8 form). */
export function contentDisposition(filename: string | undefined, disposition: 'inline' | 'attachment' = 'inline'): string {
  if (!filename) return disposition;
  // Drop control, bidi-override and path characters; keep the rest as data only.
  // eslint-disable-next-line no-control-regex
  const cleaned = filename.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069/\\]/g, '').trim().slice(0, 200) || 'file';
  const ascii = cleaned.replace(/[^\x20-\x7e]/g, '_').replace(/["%;]/g, '_');
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(cleaned)}`;
}
