/** SQL for status events and the forward-only status of messages (tenant database). */
import type { Db } from '../platform/db/pool.ts';
import type { InboundStatus } from './parse-inbound.ts';
import { STATUS_RANK, statusRank } from './status-rank.ts';

export interface StatusChange {
  messageId: string;
  conversationId: string;
  waMessageId: string;
  status: string;
  error: unknown;
}

/** Records a status event once per (wamid, status). @returns false when it was already recorded. */
export async function insertStatusEvent(db: Db, s: InboundStatus): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO message_status_events (wa_message_id, status, wa_timestamp, recipient_id, pricing, conversation, errors, raw)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (wa_message_id, status) DO NOTHING`,
    [s.waMessageId, s.status, s.timestamp, s.recipientId ?? s.recipientUserId, s.pricing, s.conversation, s.errors ? JSON.stringify(s.errors) : null, s.raw],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Moves the message forward to the highest-ranked recorded status it has not reached
 * (compare-and-set in SQL: never regresses, failed stays final), and marks the events applied.
 * @returns the change when the message's status moved, null when it did not (or the message is unknown)
 */
export async function applyRecordedStatuses(db: Db, waMessageId: string): Promise<StatusChange | null> {
  const { rows: events } = await db.query<{ status: string; errors: unknown }>(
    `UPDATE message_status_events SET applied = true
     WHERE wa_message_id = $1 AND NOT applied AND EXISTS (SELECT 1 FROM messages WHERE wa_message_id = $1)
     RETURNING status, errors`,
    [waMessageId],
  );
  if (events.length === 0) return null;
  let best = events[0];
  for (const e of events) if (statusRank(e.status) > statusRank(best.status)) best = e;
  const rank = statusRank(best.status);
  if (rank < 1) return null;
  const { rows } = await db.query<{ id: string; conversation_id: string; status: string; error: unknown }>(
    `UPDATE messages SET status = $2, status_rank = $3, error = CASE WHEN $2 = 'failed' THEN $4::jsonb ELSE error END, updated_at = now()
     WHERE wa_message_id = $1 AND status_rank < $3
     RETURNING id, conversation_id, status, error`,
    [waMessageId, best.status, rank, best.errors === null || best.errors === undefined ? null : JSON.stringify(best.errors)],
  );
  const row = rows[0];
  return row ? { messageId: row.id, conversationId: row.conversation_id, waMessageId, status: row.status, error: row.error } : null;
}

const RANK_SQL = `CASE e.status ${Object.entries(STATUS_RANK).map(([status, rank]) => `WHEN '${status}' THEN ${rank}`).join(' ')} ELSE -1 END`;

/**
 * Records many status events in one statement, once per (wamid, status) (pairs unique within the call).
 * @returns the wamids whose events were new
 */
export async function insertStatusEvents(db: Db, statuses: InboundStatus[]): Promise<string[]> {
  if (statuses.length === 0) return [];
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
  const { rows } = await db.query<{ wa_message_id: string }>(
    `INSERT INTO message_status_events (wa_message_id, status, wa_timestamp, recipient_id, pricing, conversation, errors, raw)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::jsonb[], $6::jsonb[], $7::jsonb[], $8::jsonb[])
     ORDER BY 1, 2
     ON CONFLICT (wa_message_id, status) DO NOTHING
     RETURNING wa_message_id`,
    [
      statuses.map((s) => s.waMessageId), statuses.map((s) => s.status), statuses.map((s) => s.timestamp?.toISOString() ?? null),
      statuses.map((s) => s.recipientId ?? s.recipientUserId), statuses.map((s) => json(s.pricing)), statuses.map((s) => json(s.conversation)),
      statuses.map((s) => json(s.errors)), statuses.map((s) => JSON.stringify(s.raw)),
    ],
  );
  return rows.map((r) => r.wa_message_id);
}

/**
 * applyRecordedStatuses for many messages in one statement: the stored messages among `waMessageIds` are
 * locked in wamid order, their unapplied events marked applied, and each moves forward to the
 * highest-ranked of those events it has not reached (never regresses; failed is final and keeps its errors).
 * @returns the messages whose status moved
 */
export async function applyRecordedStatusesMany(db: Db, waMessageIds: string[]): Promise<StatusChange[]> {
  if (waMessageIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; conversation_id: string; wa_message_id: string; status: string; error: unknown }>(
    `WITH target AS (
       SELECT id, wa_message_id FROM messages WHERE wa_message_id = ANY($1::text[]) ORDER BY wa_message_id FOR UPDATE),
     ev AS (
       UPDATE message_status_events e SET applied = true FROM target t
       WHERE e.wa_message_id = t.wa_message_id AND NOT e.applied
       RETURNING e.id, e.wa_message_id, e.status, e.errors, ${RANK_SQL} AS rank),
     best AS (SELECT DISTINCT ON (wa_message_id) wa_message_id, status, errors, rank FROM ev ORDER BY wa_message_id, rank DESC, id)
     UPDATE messages m SET status = b.status, status_rank = b.rank,
       error = CASE WHEN b.status = 'failed' THEN b.errors ELSE m.error END, updated_at = now()
     FROM best b WHERE m.wa_message_id = b.wa_message_id AND b.rank >= 1 AND m.status_rank < b.rank
     RETURNING m.id, m.conversation_id, m.wa_message_id, m.status, m.error`,
    [[...new Set(waMessageIds)].sort()],
  );
  return rows.map((r) => ({ messageId: r.id, conversationId: r.conversation_id, waMessageId: r.wa_message_id, status: r.status, error: r.error }));
}
