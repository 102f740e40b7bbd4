/** Cron job (once per tick across instances): rescore leads with new WhatsApp activity, for every client with a tenant database. */
import type { AppContext } from '../../context.ts';
import { defineJob } from '../../platform/jobs/queue.ts';
import { describeDatasource, listClients, tenantDbById } from '../../tenants/index.ts';
import { rescoreRecentActivity } from './rescore-recent-activity.ts';

export const rescoreRecentActivityJob = defineJob<{ now?: string }, AppContext>({
  name: 'crm.rescore-recent-activity',
  retry: { attempts: 1, expireInSeconds: 300 },
  async handler(data, ctx) {
    const now = data.now ? new Date(data.now) : new Date();
    let cursor: string | undefined;
    let changed = 0;
    do {
      const page = await listClients(ctx, { limit: 500, cursor });
      for (const client of page.items) {
        if (!(await describeDatasource(ctx, client.id))) continue;
        try {
          changed += (await rescoreRecentActivity(ctx, await tenantDbById(ctx, client.id), client.id, { now })).changed;
        } catch (err) {
          ctx.logger.warn({ clientId: client.id, err: (err as Error).message }, 'activity rescoring failed for a client');
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { changed };
  },
});
