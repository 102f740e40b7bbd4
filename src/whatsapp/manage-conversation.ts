/**
 * Use cases on a conversation: mark read (here and at Meta), assign, close,
 * reopen, and the contact's profile. Each publishes `conversation.updated`.
 */
import type pg from 'pg';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { GraphError, markGraphRead, resolveGraphTarget, toAppError } from './graph-client.ts';
import { MESSAGE_COLUMNS, type ConversationRow, type MessageRow } from './inbound.repo.ts';
import { presentConversation } from './present.ts';

async function update(ctx: AppContext, clientId: string, db: pg.Pool, id: string, sql: string, values: unknown[]): Promise<ConversationRow & { assigned_to: string | null }> {
  const { rows } = await db.query<ConversationRow & { assigned_to: string | null }>(`UPDATE conversations SET ${sql}, updated_at = now() WHERE id = $1 RETURNING *`, [id, ...values]);
  if (!rows[0]) throw new AppError('NOT_FOUND', { message: 'Conversation not found' });
  const view = presentConversationWithAssignee(rows[0]);
  ctx.realtime.publish({ clientId, event: 'conversation.updated', payload: { conversation: view }, conversationId: id });
  return rows[0];
}

export function presentConversationWithAssignee(row: ConversationRow & { assigned_to: string | null }) {
  return { ...presentConversation(row), assignedTo: row.assigned_to };
}

export async function assignConversation(ctx: AppContext, clientId: string, db: pg.Pool, id: string, assignedTo: string | null) {
  return presentConversationWithAssignee(await update(ctx, clientId, db, id, 'assigned_to = $2', [assignedTo]));
}

export async function setConversationOpen(ctx: AppContext, clientId: string, db: pg.Pool, id: string, open: boolean) {
  return presentConversationWithAssignee(await update(ctx, clientId, db, id, 'status = $2', [open ? 'open' : 'closed']));
}

async function sendReadReceipt(ctx: AppContext, clientId: string, waMessageId: string): Promise<void> {
  const target = await resolveGraphTarget(ctx, clientId);
  try {
    await markGraphRead(ctx, target, waMessageId);
  } catch (err) {
    if (err instanceof GraphError) throw toAppError(err);
    throw err;
  }
}

/** Marks the conversation read: unread count to zero, and a read receipt for its latest inbound message. */
export async function markConversationRead(ctx: AppContext, clientId: string, db: pg.Pool, id: string) {
  const { rows } = await db.query<{ wa_message_id: string }>(
    `SELECT wa_message_id FROM messages WHERE conversation_id = $1 AND direction = 'inbound' AND wa_message_id IS NOT NULL ORDER BY created_at DESC LIMIT 1`, [id],
  );
  const conversation = await update(ctx, clientId, db, id, 'unread_count = 0', []);
  if (rows[0] && conversation.last_inbound_at && Date.now() - conversation.last_inbound_at.getTime() < 30 * 86_400_000) {
    await sendReadReceipt(ctx, clientId, rows[0].wa_message_id);
  }
  return presentConversationWithAssignee(conversation);
}

/** Sends a read receipt for one inbound message (blue ticks for it and the ones before it). */
export async function markMessageRead(ctx: AppContext, clientId: string, db: pg.Pool, messageId: string): Promise<{ id: string; waMessageId: string; read: true }> {
  const { rows } = await db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [messageId]);
  const message = rows[0];
  if (!message) throw new AppError('NOT_FOUND', { message: 'Message not found' });
  if (message.direction !== 'inbound' || !message.wa_message_id) throw new AppError('UNPROCESSABLE', { message: 'Only messages received from the customer can be marked read' });
  await sendReadReceipt(ctx, clientId, message.wa_message_id);
  await db.query('UPDATE conversations SET unread_count = 0, updated_at = now() WHERE id = $1', [message.conversation_id]);
  return { id: message.id, waMessageId: message.wa_message_id, read: true };
}

/** The contact behind a conversation, with its lead (if any). */
export async function conversationContact(db: pg.Pool, id: string) {
  const { rows } = await db.query<{
    id: string; phone: string | null; wa_id: string | null; wa_user_id: string | null; wa_username: string | null; name: string | null; email: string | null;
    tags: string[]; custom_fields: Record<string, unknown>; created_at: Date; lead_id: string | null; lead_stage: string | null; lead_score: number | null; lead_owner: string | null; lead_source: string | null;
  }>(
    `SELECT c.id, c.phone, c.wa_id, c.wa_user_id, c.wa_username, c.name, c.email, c.tags, c.custom_fields, c.created_at,
            l.id AS lead_id, l.stage AS lead_stage, l.score AS lead_score, l.owner AS lead_owner, l.source AS lead_source
     FROM conversations v JOIN contacts c ON c.id = v.contact_id LEFT JOIN leads l ON l.contact_id = c.id WHERE v.id = $1`, [id],
  );
  const r = rows[0];
  if (!r) throw new AppError('NOT_FOUND', { message: 'Conversation not found' });
  return {
    id: r.id, phone: r.phone, waId: r.wa_id, userId: r.wa_user_id, username: r.wa_username, name: r.name, email: r.email,
    tags: r.tags, customFields: r.custom_fields, createdAt: r.created_at.toISOString(),
    lead: r.lead_id ? { id: r.lead_id, stage: r.lead_stage, score: r.lead_score, owner: r.lead_owner, source: r.lead_source } : null,
  };
}
