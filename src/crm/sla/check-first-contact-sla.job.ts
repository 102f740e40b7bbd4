/** Cron job (once per tick across instances): the first-contact SLA sweep of every client with a tenant database. */
import type { AppContext } from '../../context.ts';
import { defineJob } from '../../platform/jobs/queue.ts';
import { describeDatasource, listClients, tenantDbById } from '../../tenants/index.ts';
import { flagSlaBreaches } from './flag-sla-breaches.ts';

export const checkFirstContactSlaJob = defineJob<{ now?: string }, AppContext>({
  name: 'crm.check-first-contact-sla',
  retry: { attempts: 1, expireInSeconds: 300 },
  async handler(data, ctx) {
    const now = data.now ? new Date(data.now) : new Date();
    let cursor: string | undefined;
    let breached = 0;
    do {
      const page = await listClients(ctx, { limit: 500, cursor });
      for (const client of page.items) {
        if (!(await describeDatasource(ctx, client.id))) continue;
        try {
          const pool = await tenantDbById(ctx, client.id);
          breached += (await flagSlaBreaches(ctx, pool, { clientId: client.id, now })).breaches.length;
        } catch (err) {
          // One unreachable tenant must not stop the sweep for the others.
          ctx.logger.warn({ clientId: client.id, err: (err as Error).message }, 'first-contact SLA sweep failed for a client');
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { breached };
  },
});
