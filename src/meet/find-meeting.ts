/** Finds a client's meeting by event id or appointment id (each client sees only its own database). */
import type { Db } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { findMeetingByAppointment, findMeetingByEventId, type MeetingRow } from './meetings.repo.ts';

export interface MeetingRef {
  eventId?: string;
  appointmentId?: string;
}

export async function findMeeting(db: Db, ref: MeetingRef): Promise<MeetingRow | undefined> {
  if (ref.eventId) return findMeetingByEventId(db, ref.eventId);
  if (ref.appointmentId) return findMeetingByAppointment(db, ref.appointmentId);
  return undefined;
}

/** The meeting or MEETING_NOT_FOUND. */
export async function requireMeeting(db: Db, ref: MeetingRef): Promise<MeetingRow> {
  const row = await findMeeting(db, ref);
  if (!row) throw new AppError('MEETING_NOT_FOUND', { message: 'Meeting not found' });
  return row;
}
