/** SQL for appointments. */
import type { Db } from '../../platform/db/pool.ts';

export interface AppointmentRow {
  id: string; contact_id: string; lead_id: string | null; title: string; starts_at: Date; ends_at: Date; timezone: string;
  status: string; location: string | null; meeting_url: string | null; reminder_offsets: number[];
  reminders_scheduled: Record<string, string>; notes: string | null; created_at: Date; updated_at: Date;
  /** The confirmation waits for a Meet link still being created (see meeting-settled.ts). */
  confirmation_awaits_meet?: boolean;
  contact_name?: string | null; contact_phone?: string | null;
}

const SELECT = `SELECT a.*, c.name AS contact_name, c.phone AS contact_phone FROM appointments a JOIN contacts c ON c.id = a.contact_id`;

export async function findAppointment(db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<AppointmentRow | null> {
  const { rows } = await db.query<AppointmentRow>(`${SELECT} WHERE a.id = $1${options.forUpdate ? ' FOR UPDATE OF a' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function listAppointmentRows(db: Db, filters: { contactId?: string; status?: string; from?: string; to?: string; after?: [string, string]; limit: number }): Promise<Array<AppointmentRow & { sort_value: string }>> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (p: string) => string, value: unknown) => { params.push(value); where.push(sql(`$${params.length}`)); };
  if (filters.contactId) add((p) => `a.contact_id = ${p}`, filters.contactId);
  if (filters.status) add((p) => `a.status = ${p}`, filters.status);
  if (filters.from) add((p) => `a.starts_at >= ${p}`, filters.from);
  if (filters.to) add((p) => `a.starts_at < ${p}`, filters.to);
  if (filters.after) {
    params.push(filters.after[0], filters.after[1]);
    where.push(`(a.starts_at, a.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(filters.limit);
  const { rows } = await db.query<AppointmentRow & { sort_value: string }>(
    `${SELECT.replace('SELECT a.*', 'SELECT a.*, a.starts_at::text AS sort_value')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY a.starts_at, a.id LIMIT $${params.length}`, params);
  return rows;
}

export function presentAppointment(row: AppointmentRow) {
  return {
    id: row.id, contactId: row.contact_id, leadId: row.lead_id, title: row.title,
    contact: { id: row.contact_id, name: row.contact_name ?? null, phone: row.contact_phone ?? null },
    startsAt: row.starts_at.toISOString(), endsAt: row.ends_at.toISOString(), timezone: row.timezone, status: row.status,
    location: row.location, meetingUrl: row.meeting_url, reminderOffsets: row.reminder_offsets, remindersScheduled: row.reminders_scheduled,
    notes: row.notes, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}
