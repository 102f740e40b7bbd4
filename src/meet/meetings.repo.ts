/** SQL for `meetings` (tenant database): the events with Meet conferences we created for this client. */
import type { Db } from '../platform/db/pool.ts';

export type MeetingStatus = 'pending' | 'ready' | 'failed' | 'cancelled';

export interface Attendee { email: string; displayName?: string }

export interface MeetingRow {
  id: string;
  event_id: string;
  idempotency_key: string;
  appointment_id: string | null;
  provider: 'google' | 'sandbox';
  title: string;
  description: string | null;
  start_at: Date;
  end_at: Date;
  time_zone: string;
  attendees: Attendee[];
  request_id: string;
  /** A failed conference was already asked for again with a new requestId. */
  conference_retried: boolean;
  meet_url: string | null;
  meeting_code: string | null;
  html_link: string | null;
  status: MeetingStatus;
  created_at: Date;
  updated_at: Date;
}

export interface InsertMeetingInput {
  eventId: string;
  idempotencyKey: string;
  appointmentId: string | null;
  provider: 'google' | 'sandbox';
  title: string;
  description: string | null;
  start: Date;
  end: Date;
  timeZone: string;
  attendees: Attendee[];
  requestId: string;
}

/** Inserts the meeting as `pending` before Google is called; returns the existing row on a repeated key. */
export async function insertMeeting(db: Db, input: InsertMeetingInput): Promise<{ row: MeetingRow; created: boolean }> {
  const { rows } = await db.query<MeetingRow>(
    `INSERT INTO meetings (event_id, idempotency_key, appointment_id, provider, title, description, start_at, end_at, time_zone, attendees, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
    [input.eventId, input.idempotencyKey, input.appointmentId, input.provider, input.title, input.description, input.start, input.end, input.timeZone, JSON.stringify(input.attendees), input.requestId],
  );
  if (rows[0]) return { row: rows[0], created: true };
  const existing = await findMeetingByKey(db, input.idempotencyKey);
  return { row: existing!, created: false };
}

export async function findMeetingByKey(db: Db, idempotencyKey: string): Promise<MeetingRow | undefined> {
  const { rows } = await db.query<MeetingRow>('SELECT * FROM meetings WHERE idempotency_key = $1', [idempotencyKey]);
  return rows[0];
}

export async function findMeetingByEventId(db: Db, eventId: string): Promise<MeetingRow | undefined> {
  const { rows } = await db.query<MeetingRow>('SELECT * FROM meetings WHERE event_id = $1', [eventId]);
  return rows[0];
}

/** The appointment's live (not cancelled) meeting, newest first. */
export async function findMeetingByAppointment(db: Db, appointmentId: string): Promise<MeetingRow | undefined> {
  const { rows } = await db.query<MeetingRow>(
    `SELECT * FROM meetings WHERE appointment_id = $1 ORDER BY (status = 'cancelled'), created_at DESC LIMIT 1`, [appointmentId],
  );
  return rows[0];
}

export async function updateConference(db: Db, eventId: string, input: { status: MeetingStatus; meetUrl: string | null; meetingCode: string | null; htmlLink: string | null; requestId?: string; retried?: boolean }): Promise<MeetingRow> {
  const { rows } = await db.query<MeetingRow>(
    `UPDATE meetings SET status = $2, meet_url = COALESCE($3, meet_url), meeting_code = COALESCE($4, meeting_code),
       html_link = COALESCE($5, html_link), request_id = COALESCE($6, request_id),
       conference_retried = conference_retried OR $7, updated_at = now()
     WHERE event_id = $1 RETURNING *`,
    [eventId, input.status, input.meetUrl, input.meetingCode, input.htmlLink, input.requestId ?? null, input.retried ?? false],
  );
  return rows[0];
}

export async function updateTimes(db: Db, eventId: string, input: { start: Date; end: Date; timeZone: string }): Promise<MeetingRow> {
  const { rows } = await db.query<MeetingRow>(
    'UPDATE meetings SET start_at = $2, end_at = $3, time_zone = $4, updated_at = now() WHERE event_id = $1 RETURNING *',
    [eventId, input.start, input.end, input.timeZone],
  );
  return rows[0];
}

export async function markCancelled(db: Db, eventId: string): Promise<MeetingRow> {
  const { rows } = await db.query<MeetingRow>(
    `UPDATE meetings SET status = 'cancelled', updated_at = now() WHERE event_id = $1 RETURNING *`, [eventId],
  );
  return rows[0];
}

export async function deleteMeeting(db: Db, eventId: string): Promise<void> {
  await db.query('DELETE FROM meetings WHERE event_id = $1', [eventId]);
}

/** Newest first; `before` is the `created_at|id` cursor of the last row of the previous page. */
export async function listMeetings(db: Db, query: { appointmentId?: string; limit: number; before?: { createdAt: Date; id: string } }): Promise<MeetingRow[]> {
  const { rows } = await db.query<MeetingRow>(
    `SELECT * FROM meetings WHERE ($1::text IS NULL OR appointment_id = $1)
       AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $4`,
    [query.appointmentId ?? null, query.before?.createdAt ?? null, query.before?.id ?? null, query.limit],
  );
  return rows;
}
