/** Read API: a client's conversations (newest activity first) and a conversation's messages, cursor-paginated. */
import type pg from 'pg';
import { AppError } from '../platform/errors.ts';
import { conversationExists, listConversationRows, listMessageRows } from './chat.repo.ts';
import { presentConversation, presentMessage } from './present.ts';

function encodeCursor(ts: string | null, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

function decodeCursor(cursor: string): { ts: string | null; id: string } {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if ((ts === null || typeof ts === 'string') && typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) return { ts, id };
  } catch {
    // fall through
  }
  throw new AppError('BAD_REQUEST', { message: 'Invalid cursor' });
}

export async function listConversations(db: pg.Pool, input: { limit: number; cursor?: string; search?: string }) {
  const rows = await listConversationRows(db, { limit: input.limit + 1, after: input.cursor ? decodeCursor(input.cursor) : undefined, search: input.search });
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    conversations: page.map((row) => ({
      ...presentConversation(row),
      contact: { id: row.contact_id, name: row.contact_name, phone: row.contact_phone, waId: row.contact_wa_id, userId: row.contact_wa_user_id, username: row.contact_wa_username },
    })),
    nextCursor: rows.length > input.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
  };
}

export async function listConversationMessages(db: pg.Pool, conversationId: string, input: { limit: number; cursor?: string }) {
  if (!(await conversationExists(db, conversationId))) throw new AppError('CONVERSATION_NOT_FOUND', { message: 'Conversation not found' });
  const after = input.cursor ? decodeCursor(input.cursor) : undefined;
  if (after && after.ts === null) throw new AppError('BAD_REQUEST', { message: 'Invalid cursor' });
  const rows = await listMessageRows(db, conversationId, { limit: input.limit + 1, after: after as { ts: string; id: string } | undefined });
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    messages: page.map(presentMessage),
    nextCursor: rows.length > input.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
  };
}
