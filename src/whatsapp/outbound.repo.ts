/** SQL for outbound messages, their send attempts and waiting media (tenant database). */
import type { Db } from '../platform/db/pool.ts';
import { MESSAGE_COLUMNS, type ConversationRow, type MessageRow } from './inbound.repo.ts';
import type { TemplateRow } from './templates.repo.ts';

export interface OutboundRow extends MessageRow {
  idempotency_key: string | null;
  send_attempts: number;
  send_in_flight_at: Date | null;
  sent_by: string | null;
  raw: unknown;
}

const OUTBOUND_COLUMNS = `${MESSAGE_COLUMNS}, idempotency_key, send_attempts, send_in_flight_at, sent_by, raw`;

export async function findByIdempotencyKey(db: Db, key: string): Promise<OutboundRow | undefined> {
  const { rows } = await db.query<OutboundRow>(`SELECT ${OUTBOUND_COLUMNS} FROM messages WHERE idempotency_key = $1`, [key]);
  return rows[0];
}

export async function findOutbound(db: Db, id: string): Promise<OutboundRow | undefined> {
  const { rows } = await db.query<OutboundRow>(`SELECT ${OUTBOUND_COLUMNS} FROM messages WHERE id = $1`, [id]);
  return rows[0];
}

/** Several messages by id, in one statement (the send worker's batch). */
export async function findOutboundMany(db: Db, ids: string[]): Promise<Map<string, OutboundRow>> {
  const { rows } = await db.query<OutboundRow>(`SELECT ${OUTBOUND_COLUMNS} FROM messages WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((r) => [r.id, r]));
}

/** A message of this conversation by our id or by its wamid. */
export async function findConversationMessage(db: Db, conversationId: string, ref: string): Promise<MessageRow | undefined> {
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND ${byId ? 'id = $2::uuid' : 'wa_message_id = $2'}`,
    [conversationId, ref],
  );
  return rows[0];
}

export interface ConversationWithContact extends ConversationRow {
  assigned_to: string | null;
  created_at: Date;
  wa_id: string | null;
  phone: string | null;
  wa_user_id: string | null;
}

export async function findConversationWithContact(db: Db, id: string): Promise<ConversationWithContact | undefined> {
  const { rows } = await db.query<ConversationWithContact>(
    `SELECT v.*, c.wa_id, c.phone, c.wa_user_id FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE v.id = $1`, [id],
  );
  return rows[0];
}

/**
 * A template send's reads in one round trip: the conversation with its contact, and the live
 * templates named `templateName` (only `language` when given), ordered by language.
 */
export async function findConversationAndTemplates(db: Db, conversationId: string, templateName: string, language: string | undefined): Promise<{ conversation: ConversationWithContact | undefined; templates: TemplateRow[] }> {
  const { rows: [r] } = await db.query<{ conversation: Record<string, unknown> | null; templates: Array<Record<string, unknown>> }>(
    `SELECT (SELECT row_to_json(x) FROM (SELECT v.*, c.wa_id, c.phone, c.wa_user_id FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE v.id = $1) x) AS conversation,
       (SELECT coalesce(json_agg(t ORDER BY t.language), '[]'::json) FROM whatsapp_templates t WHERE t.name = $2 AND t.deleted_at IS NULL AND ($3::text IS NULL OR t.language = $3)) AS templates`,
    [conversationId, templateName, language ?? null],
  );
  // JSON carries timestamps as text: give them back their row types.
  const dates = (row: Record<string, unknown>, keys: string[]) => {
    for (const key of keys) if (typeof row[key] === 'string') row[key] = new Date(row[key] as string);
    return row;
  };
  return {
    conversation: r.conversation ? dates(r.conversation, ['last_inbound_at', 'last_message_at', 'updated_at', 'created_at']) as unknown as ConversationWithContact : undefined,
    templates: r.templates.map((t) => dates(t, ['synced_at', 'deleted_at']) as unknown as TemplateRow),
  };
}

/** The existing conversation with this phone number on this business number (nothing is created). */
export async function findConversationByPhone(db: Db, phone: string, phoneNumberId: string): Promise<ConversationWithContact | undefined> {
  const { rows } = await db.query<ConversationWithContact>(
    `SELECT v.*, c.wa_id, c.phone, c.wa_user_id FROM contacts c JOIN conversations v ON v.contact_id = c.id
     WHERE (c.wa_id = $1 OR c.phone = $1) AND coalesce(v.phone_number_id, '') = $2
     ORDER BY (c.wa_id = $1) DESC LIMIT 1`,
    [phone, phoneNumberId],
  );
  return rows[0];
}

/**
 * Stores an outbound message as `queued` in one statement: the message (with the id the caller
 * chose), its inline media bytes, and the conversation's last-message fields. With an idempotency
 * key already used, writes nothing and returns the existing row (`created: false`).
 */
export async function insertQueuedMessage(db: Db, input: {
  id: string; conversationId: string; contactId: string; type: string; text: string | null; content: unknown;
  replyToWaId: string | null; idempotencyKey: string; sentBy: string; upload?: { mimeType: string; filename: string | null; data: Buffer } | null;
}): Promise<{ row: OutboundRow; created: boolean }> {
  const upload = input.upload ?? null;
  const { rows } = await db.query<OutboundRow>(
    `WITH ins AS (
       INSERT INTO messages (id, conversation_id, contact_id, direction, type, text, content, reply_to_wa_id, status, status_rank, idempotency_key, sent_by,
         media_mime_type, media_size, media_filename, media_status)
       VALUES ($1, $2, $3, 'outbound', $4, $5, $6, $7, 'queued', 0, $8, $9, $10, $11, $12, CASE WHEN $10::text IS NULL THEN NULL ELSE 'pending_upload' END)
       ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING ${OUTBOUND_COLUMNS}),
     media AS (
       INSERT INTO outbound_media (message_id, mime_type, filename, data) SELECT id, $10, $12, $13 FROM ins WHERE $13::bytea IS NOT NULL),
     touch AS (
       UPDATE conversations SET last_message_at = now(), last_message_preview = left(coalesce($5, last_message_preview), 200), updated_at = now()
       WHERE id = $2 AND EXISTS (SELECT 1 FROM ins))
     SELECT * FROM ins`,
    [input.id, input.conversationId, input.contactId, input.type, input.text, JSON.stringify(input.content), input.replyToWaId, input.idempotencyKey, input.sentBy,
      upload?.mimeType ?? null, upload?.data.length ?? null, upload?.filename ?? null, upload?.data ?? null],
  );
  if (rows[0]) return { row: rows[0], created: true };
  const existing = await findByIdempotencyKey(db, input.idempotencyKey);
  if (!existing) throw new Error('idempotency conflict without an existing row');
  return { row: existing, created: false };
}

export async function findOutboundMedia(db: Db, messageId: string): Promise<{ mime_type: string; filename: string | null; data: Buffer } | undefined> {
  const { rows } = await db.query<{ mime_type: string; filename: string | null; data: Buffer }>('SELECT mime_type, filename, data FROM outbound_media WHERE message_id = $1', [messageId]);
  return rows[0];
}

/** After the upload: the Meta media id is on the message, the bytes can go. */
export async function setUploadedMedia(db: Db, messageId: string, mediaId: string): Promise<void> {
  await db.query(`UPDATE messages SET media_id = $2, media_status = 'uploaded', updated_at = now() WHERE id = $1`, [messageId, mediaId]);
  await db.query('DELETE FROM outbound_media WHERE message_id = $1', [messageId]);
}

/**
 * Claims a send attempt: only a queued message without a wamid and without an attempt in flight.
 * @returns false when another attempt owns it or it is already done
 */
export async function claimSendAttempt(db: Db, id: string, payload: unknown): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE messages SET send_in_flight_at = now(), send_attempts = send_attempts + 1, raw = $2, updated_at = now()
     WHERE id = $1 AND status = 'queued' AND wa_message_id IS NULL AND send_in_flight_at IS NULL`,
    [id, JSON.stringify(payload)],
  );
  return (rowCount ?? 0) > 0;
}

/** claimSendAttempt for a batch in one statement. @returns the ids claimed */
export async function claimSendAttempts(db: Db, claims: Array<{ id: string; payload: unknown }>): Promise<Set<string>> {
  if (claims.length === 0) return new Set();
  const { rows } = await db.query<{ id: string }>(
    `UPDATE messages m SET send_in_flight_at = now(), send_attempts = m.send_attempts + 1, raw = u.u_raw, updated_at = now()
     FROM unnest($1::uuid[], $2::jsonb[]) AS u(u_id, u_raw)
     WHERE m.id = u.u_id AND m.status = 'queued' AND m.wa_message_id IS NULL AND m.send_in_flight_at IS NULL
     RETURNING m.id`,
    [claims.map((c) => c.id), claims.map((c) => JSON.stringify(c.payload))],
  );
  return new Set(rows.map((r) => r.id));
}

/** Meta answered with an error (so nothing went out): the attempt is over. */
export async function releaseSendAttempt(db: Db, id: string): Promise<void> {
  await db.query('UPDATE messages SET send_in_flight_at = NULL, updated_at = now() WHERE id = $1', [id]);
}

/** Meta accepted the message: store its wamid and move to sent (never backwards). */
export async function markSent(db: Db, id: string, waMessageId: string): Promise<OutboundRow | undefined> {
  const { rows } = await db.query<OutboundRow>(
    `UPDATE messages SET wa_message_id = $2, status = CASE WHEN status_rank < 1 THEN 'sent' ELSE status END, status_rank = GREATEST(status_rank, 1),
       send_in_flight_at = NULL, sent_at = now(), error = NULL, updated_at = now()
     WHERE id = $1 AND wa_message_id IS NULL RETURNING ${OUTBOUND_COLUMNS}`,
    [id, waMessageId],
  );
  return rows[0];
}

/** markSent for a batch in one statement. */
export async function markSentMany(db: Db, sent: Array<{ id: string; waMessageId: string }>): Promise<OutboundRow[]> {
  if (sent.length === 0) return [];
  const columns = OUTBOUND_COLUMNS.split(',').map((c) => `m.${c.trim()}`).join(', ');
  const { rows } = await db.query<OutboundRow>(
    `UPDATE messages m SET wa_message_id = u.u_wamid, status = CASE WHEN m.status_rank < 1 THEN 'sent' ELSE m.status END, status_rank = GREATEST(m.status_rank, 1),
       send_in_flight_at = NULL, sent_at = now(), error = NULL, updated_at = now()
     FROM unnest($1::uuid[], $2::text[]) AS u(u_id, u_wamid)
     WHERE m.id = u.u_id AND m.wa_message_id IS NULL RETURNING ${columns}`,
    [sent.map((s) => s.id), sent.map((s) => s.waMessageId)],
  );
  return rows;
}

export async function markFailed(db: Db, id: string, error: unknown): Promise<OutboundRow | undefined> {
  const { rows } = await db.query<OutboundRow>(
    `UPDATE messages SET status = 'failed', status_rank = 100, error = $2, send_in_flight_at = NULL, updated_at = now()
     WHERE id = $1 AND wa_message_id IS NULL AND status IN ('queued', 'unknown') RETURNING ${OUTBOUND_COLUMNS}`,
    [id, JSON.stringify(error)],
  );
  return rows[0];
}

/** The attempt's outcome is unknown (timeout): keep the in-flight mark, wait for evidence. */
export async function markUnknown(db: Db, id: string, error: unknown): Promise<OutboundRow | undefined> {
  const { rows } = await db.query<OutboundRow>(
    `UPDATE messages SET status = 'unknown', error = $2, updated_at = now()
     WHERE id = $1 AND wa_message_id IS NULL AND status = 'queued' RETURNING ${OUTBOUND_COLUMNS}`,
    [id, JSON.stringify(error)],
  );
  return rows[0];
}

/** No evidence that Meta got it: back to queued for one more attempt. */
export async function requeueUnknown(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE messages SET status = 'queued', send_in_flight_at = NULL, updated_at = now() WHERE id = $1 AND status = 'unknown' AND wa_message_id IS NULL`, [id],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Evidence that Meta accepted a send whose answer we lost: a status webhook that echoed our
 * `biz_opaque_callback_data` (recorded by the inbound side, unmatched so far).
 */
export async function findWamidByCallbackData(db: Db, callbackData: string): Promise<string | undefined> {
  const { rows } = await db.query<{ wa_message_id: string }>(
    `SELECT wa_message_id FROM message_status_events WHERE raw->>'biz_opaque_callback_data' = $1 ORDER BY id LIMIT 1`, [callbackData],
  );
  return rows[0]?.wa_message_id;
}

/** Queued or unknown outbound messages older than `seconds` (the sweeper re-drives them). */
export async function listStuckOutbound(db: Db, seconds: number, limit: number): Promise<Array<{ id: string; status: string }>> {
  const { rows } = await db.query<{ id: string; status: string }>(
    `SELECT id, status FROM messages WHERE status IN ('queued', 'unknown') AND direction = 'outbound' AND updated_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2`,
    [seconds, limit],
  );
  return rows;
}
