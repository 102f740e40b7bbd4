/** Lists a client's meetings, newest first, with an opaque cursor. */
import type { Db } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { listMeetings as listMeetingRows } from './meetings.repo.ts';
import { presentMeeting } from './present-meeting.ts';

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw new AppError('VALIDATION_FAILED', { message: 'Invalid cursor' });
  return { createdAt, id };
}

export async function listMeetings(db: Db, query: { appointmentId?: string; limit: number; cursor?: string }) {
  const rows = await listMeetingRows(db, { appointmentId: query.appointmentId, limit: query.limit + 1, before: query.cursor ? decodeCursor(query.cursor) : undefined });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(presentMeeting),
    nextCursor: rows.length > query.limit && last ? Buffer.from(`${last.created_at.toISOString()}|${last.id}`).toString('base64url') : null,
  };
}
