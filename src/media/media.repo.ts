/** Media columns of the tenant `messages` table. Every function takes the executor first. */
import type { Db } from '../platform/db/pool.ts';

export interface MessageMediaRow {
  id: string;
  conversation_id: string;
  type: string;
  media_id: string | null;
  media_status: string | null;
  media_storage_key: string | null;
  media_original_key: string | null;
  media_mime_type: string | null;
  media_size: string | null;
  media_sha256: string | null;
  media_filename: string | null;
  media_error: string | null;
}

const COLUMNS = `id, conversation_id, type, media_id, media_status, media_storage_key, media_original_key, media_mime_type,
  media_size, media_sha256, media_filename, media_error`;

export async function findMessageMedia(db: Db, messageId: string): Promise<MessageMediaRow | null> {
  const { rows } = await db.query<MessageMediaRow>(`SELECT ${COLUMNS} FROM messages WHERE id = $1`, [messageId]);
  return rows[0] ?? null;
}

export interface StoredMedia {
  storageKey: string;
  originalKey: string | null;
  mimeType: string;
  size: number;
  sha256: string;
}

/** The whole `messages` row (for the `message.updated` payload). */
export type FullMessageRow = MessageMediaRow & Record<string, unknown>;

/** Records the archived copy; a row already `stored` is left alone. */
export async function markStored(db: Db, messageId: string, media: StoredMedia): Promise<FullMessageRow | null> {
  const { rows } = await db.query<FullMessageRow>(
    `UPDATE messages SET media_status = 'stored', media_storage_key = $2, media_original_key = $3, media_mime_type = $4,
       media_size = $5, media_sha256 = $6, media_error = NULL, media_stored_at = now(), updated_at = now()
     WHERE id = $1 AND media_status IS DISTINCT FROM 'stored' RETURNING *`,
    [messageId, media.storageKey, media.originalKey, media.mimeType, media.size, media.sha256],
  );
  return rows[0] ?? null;
}

/** Marks the media `failed` or `unavailable` with a reason (never overwrites `stored`). */
export async function markNotStored(db: Db, messageId: string, status: 'failed' | 'unavailable', reason: string): Promise<FullMessageRow | null> {
  const { rows } = await db.query<FullMessageRow>(
    `UPDATE messages SET media_status = $2, media_error = $3, updated_at = now()
     WHERE id = $1 AND media_status IS DISTINCT FROM 'stored' RETURNING *`,
    [messageId, status, reason.slice(0, 500)],
  );
  return rows[0] ?? null;
}

/** Media still pending long after the message arrived (its job was probably never queued). */
export async function findStalePendingMedia(db: Db, limit: number): Promise<Array<{ id: string; media_id: string }>> {
  const { rows } = await db.query<{ id: string; media_id: string }>(
    `SELECT id, media_id FROM messages
     WHERE media_status = 'pending' AND media_id IS NOT NULL
       AND created_at < now() - interval '15 minutes' AND created_at > now() - interval '7 days'
     ORDER BY created_at LIMIT $1`,
    [limit],
  );
  return rows;
}
