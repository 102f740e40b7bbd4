/** Opens a local-disk file named by a signed token (`GET /api/saas/media/files/:token`). */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { LocalStorage, type StoredObject } from '../platform/storage/index.ts';

export async function openSignedLocalFile(ctx: AppContext, token: string): Promise<StoredObject & { contentType: string; filename?: string; expiresAt: Date }> {
  const storage = ctx.storage;
  const claims = storage instanceof LocalStorage ? storage.verifyToken(token) : null;
  if (!claims) throw new AppError('FORBIDDEN', { message: 'Invalid or expired media link' });
  const object = await storage.get(claims.key);
  if (!object) throw new AppError('MEDIA_NOT_FOUND', { message: 'Media file not found' });
  return { ...object, contentType: claims.contentType ?? 'application/octet-stream', filename: claims.filename, expiresAt: claims.expiresAt };
}
