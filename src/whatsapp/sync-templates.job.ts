/**
 * `whatsapp.sync-templates`: with a clientId, syncs that client's templates;
 * without one (the daily cron), fans out one keyed job per client.
 */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { isAppError } from '../platform/errors.ts';
import { listClients } from '../tenants/index.ts';
import { pruneSandbox } from '../sandbox/index.ts';
import { syncTemplates } from './sync-templates.ts';

export const syncTemplatesJob = defineJob<{ clientId?: string }, AppContext>({
  name: 'whatsapp.sync-templates',
  concurrency: 2,
  async handler(data, ctx) {
    if (data.clientId) {
      try {
        return await syncTemplates(ctx, data.clientId);
      } catch (err) {
        // A client without WhatsApp credentials has nothing to sync: not a job failure.
        if (isAppError(err, 'WHATSAPP_REAUTH_REQUIRED') || isAppError(err, 'UNPROCESSABLE') || isAppError(err, 'CLIENT_NOT_FOUND')) {
          ctx.logger.info({ client: data.clientId, reason: err.message }, 'template sync skipped');
          return { skipped: err.code };
        }
        throw err;
      }
    }
    await pruneSandbox(ctx);
    const day = new Date().toISOString().slice(0, 10);
    let cursor: string | undefined;
    let count = 0;
    do {
      const page = await listClients(ctx, { limit: 500, cursor });
      for (const client of page.items) {
        await ctx.queue.enqueue(syncTemplatesJob, { clientId: client.id }, { key: `${client.id}:${day}` });
        count++;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { enqueued: count };
  },
});
