/** SQL for the chat read API (tenant database): conversations by activity, messages by time. */
import type { Db } from '../platform/db/pool.ts';
import { MESSAGE_COLUMNS, type ConversationRow, type MessageRow } from './inbound.repo.ts';

export interface ConversationListRow extends ConversationRow {
  contact_name: string | null;
  contact_phone: string | null;
  contact_wa_id: string | null;
  contact_wa_user_id: string | null;
  contact_wa_username: string | null;
  cursor_ts: string | null;
}

/** Keyset page of conversations, newest activity first (conversations without messages last). */
export async function listConversationRows(db: Db, options: {
  limit: number;
  after?: { ts: string | null; id: string };
  search?: string;
}): Promise<ConversationListRow[]> {
  const search = options.search?.trim() || null;
  const digits = search ? search.replace(/\D/g, '') : '';
  const { rows } = await db.query<ConversationListRow>(
    `SELECT v.id, v.contact_id, v.phone_number_id, v.status, v.last_inbound_at, v.last_message_at, v.last_message_preview,
       v.unread_count, v.updated_at, v.last_message_at::text AS cursor_ts,
       c.name AS contact_name, c.phone AS contact_phone, c.wa_id AS contact_wa_id, c.wa_user_id AS contact_wa_user_id,
       c.wa_username AS contact_wa_username
     FROM conversations v JOIN contacts c ON c.id = v.contact_id
     WHERE ($1::boolean IS NOT TRUE OR (
             CASE WHEN $2::text IS NULL THEN v.last_message_at IS NULL AND v.id < $3::uuid
             ELSE v.last_message_at < $2::timestamptz OR (v.last_message_at = $2::timestamptz AND v.id < $3::uuid) OR v.last_message_at IS NULL END))
       AND ($4::text IS NULL OR c.name ILIKE '%' || $4 || '%' OR c.wa_username ILIKE '%' || $4 || '%'
            OR ($5::text <> '' AND (c.phone LIKE '%' || $5 || '%' OR c.wa_id LIKE '%' || $5 || '%')))
     ORDER BY v.last_message_at DESC NULLS LAST, v.id DESC
     LIMIT $6`,
    [options.after !== undefined, options.after?.ts ?? null, options.after?.id ?? null, search?.replace(/[\\%_]/g, '\\$&') ?? null, digits, options.limit],
  );
  return rows;
}

export async function conversationExists(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM conversations WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

/** Keyset page of a conversation's messages, newest first. */
export async function listMessageRows(db: Db, conversationId: string, options: { limit: number; after?: { ts: string; id: string } }): Promise<Array<MessageRow & { cursor_ts: string }>> {
  const { rows } = await db.query<MessageRow & { cursor_ts: string }>(
    `SELECT ${MESSAGE_COLUMNS}, created_at::text AS cursor_ts FROM messages
     WHERE conversation_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $4`,
    [conversationId, options.after?.ts ?? null, options.after?.id ?? null, options.limit],
  );
  return rows;
}
