/** SQL for status events and the forward-only status of messages (tenant database). */
import type { Db } from '../platform/db/pool.ts';
import type { InboundStatus } from './parse-inbound.ts';
import { statusRank } from './status-rank.ts';

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
