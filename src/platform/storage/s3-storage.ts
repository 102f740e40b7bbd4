/**
 * S3-compatible storage (AWS S3, Cloudflare R2, MinIO) through @aws-sdk/client-s3.
 * Path-style addressing is configurable (MinIO and most local servers need it).
 * Checksums are only sent when an operation requires them, which is what R2
 * and older S3-compatible servers accept. Signed URLs are SigV4 presigned GETs.
 */
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertSafeKey, contentDisposition, type ObjectStorage, type StoredObject } from './storage.ts';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Prefix for every key (e.g. `ecodrix/`), so one bucket can be shared. */
  prefix: string;
  requestTimeoutMs: number;
}

export class S3Storage implements ObjectStorage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: { requestTimeout: options.requestTimeoutMs, connectionTimeout: 5000 },
    });
  }

  private keyOf(key: string): string {
    assertSafeKey(key);
    return `${this.prefix}${key}`;
  }

  async put(key: string, body: Buffer | Readable, contentType: string, size?: number): Promise<void> {
    await this.client.send(new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.keyOf(key),
      Body: body,
      ContentType: contentType,
      ContentLength: Buffer.isBuffer(body) ? body.length : size,
    }));
  }

  async get(key: string): Promise<StoredObject | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
      return { body: out.Body as Readable, contentType: out.ContentType, size: out.ContentLength };
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
  }

  async signedUrl(key: string, ttlSeconds: number, options: { filename?: string; contentType?: string } = {}): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.keyOf(key),
      ResponseContentType: options.contentType,
      ResponseContentDisposition: options.filename ? contentDisposition(options.filename) : undefined,
    });
    return getSignedUrl(this.client, command, { expiresIn: ttlSeconds });
  }

  destroy(): void {
    this.client.destroy();
  }
}
