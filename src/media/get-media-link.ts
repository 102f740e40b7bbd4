/**
 * Short-lived signed access to a message's archived media (`GET /api/saas/media/:id`):
 * a presigned URL for S3/R2, or a link to the local files route with an HMAC-signed,
 * expiring token for local disk. The id is the tenant message id, looked up in the
 * caller's own database only, so another client's id is simply not found.
 */
import type { AppContext } from '../context.ts';
import type { Db } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { findMessageMedia } from './media.repo.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface MediaLink {
  url: string;
  expiresAt: string;
  mimeType: string;
  size: number;
  filename: string | null;
}

export async function getMediaLink(ctx: AppContext, db: Db, messageId: string): Promise<MediaLink> {
  const row = UUID.test(messageId) ? await findMessageMedia(db, messageId) : null;
  if (!row || !row.media_id && !row.media_storage_key) throw new AppError('MEDIA_NOT_FOUND', { message: 'No media for this message id' });
  if (row.media_status !== 'stored' || !row.media_storage_key) {
    throw new AppError('MEDIA_NOT_READY', {
      message: row.media_status === 'failed' || row.media_status === 'unavailable' ? `Media ${row.media_status}` : 'Media is not archived yet',
      details: { status: row.media_status ?? 'pending', reason: row.media_error },
    });
  }
  const ttl = ctx.config.media.urlTtlSeconds;
  const expiresAt = new Date(Date.now() + ttl * 1000);
  const mimeType = row.media_mime_type ?? 'application/octet-stream';
  const url = await ctx.storage.signedUrl(row.media_storage_key, ttl, { contentType: mimeType, filename: row.media_filename ?? undefined });
  return { url, expiresAt: expiresAt.toISOString(), mimeType, size: Number(row.media_size ?? 0), filename: row.media_filename };
}
