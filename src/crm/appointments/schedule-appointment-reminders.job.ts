/** Cron job (once per tick across instances): the appointment reminders sweep of every client with a tenant database. */
import type { AppContext } from '../../context.ts';
import { defineJob } from '../../platform/jobs/queue.ts';
import { describeDatasource, listClients, tenantDbById } from '../../tenants/index.ts';
import { scheduleDueReminders } from './schedule-due-reminders.ts';

export const scheduleAppointmentRemindersJob = defineJob<{ now?: string }, AppContext>({
  name: 'crm.schedule-appointment-reminders',
  retry: { attempts: 1, expireInSeconds: 300 },
  async handler(data, ctx) {
    const now = data.now ? new Date(data.now) : new Date();
    let cursor: string | undefined;
    let reminders = 0;
    do {
      const page = await listClients(ctx, { limit: 500, cursor });
      for (const client of page.items) {
        if (!(await describeDatasource(ctx, client.id))) continue;
        try {
          reminders += (await scheduleDueReminders(ctx, await tenantDbById(ctx, client.id), client.id, { now })).reminders;
        } catch (err) {
          ctx.logger.warn({ clientId: client.id, err: (err as Error).message }, 'appointment reminders sweep failed for a client');
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { reminders };
  },
});
