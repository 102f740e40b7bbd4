/**
 * The reminders sweep (the original `tenantRemindersJob`): finds upcoming
 * appointments within the horizon whose reminders are not scheduled for their
 * current start time (booked through the API while no reminder workflow was
 * active, or written straight into the tenant database by the client's own
 * application) and schedules them.
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { findAppointment } from './appointments.repo.ts';
import { scheduleReminders } from './notify-workflows.ts';

export async function scheduleDueReminders(ctx: AppContext, pool: pg.Pool, clientId: string, options: { now: Date; horizonHours?: number }): Promise<{ appointments: number; reminders: number }> {
  const { rows: active } = await pool.query(`SELECT 1 FROM workflows WHERE trigger = 'appointment_reminder' AND is_active LIMIT 1`);
  if (active.length === 0) return { appointments: 0, reminders: 0 };
  const horizon = options.horizonHours ?? ctx.config.crm.remindersHorizonHours;
  const { rows } = await pool.query<{ id: string }>(
    `SELECT a.id FROM appointments a
      WHERE a.status IN ('scheduled', 'confirmed') AND a.starts_at > $1 AND a.starts_at <= $1 + make_interval(hours => $2)
        AND EXISTS (SELECT 1 FROM unnest(a.reminder_offsets) o
                     WHERE a.reminders_scheduled->>o::text IS DISTINCT FROM to_char(a.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
                       AND a.starts_at - make_interval(mins => o) > $1 - interval '1 minute')
      ORDER BY a.starts_at LIMIT 500`, [options.now, horizon]);
  let reminders = 0;
  for (const { id } of rows) {
    const row = await findAppointment(pool, id);
    if (row) reminders += (await scheduleReminders(ctx, pool, clientId, row)).length;
  }
  return { appointments: rows.length, reminders };
}
