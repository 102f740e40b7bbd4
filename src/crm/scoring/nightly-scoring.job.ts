/**
 * Cron job (distributed-safe: pg-boss runs each tick once across instances):
 * enqueues one resumable recalculation per client with a tenant database,
 * keyed by client and day so a repeated tick enqueues nothing new.
 */
import type { AppContext } from '../../context.ts';
import { defineJob } from '../../platform/jobs/queue.ts';
import { describeDatasource, listClients } from '../../tenants/index.ts';
import { recalculateClientScoresJob } from './recalculate-client-scores.job.ts';

/** Enqueues a recalculation for every client (or the given ones); returns how many were enqueued. */
export async function enqueueScoreRecalculations(ctx: AppContext, options: { now: Date; runKey: string; reason: string; clientIds?: string[] }): Promise<number> {
  let ids = options.clientIds;
  if (!ids) {
    ids = [];
    let cursor: string | undefined;
    do {
      const page = await listClients(ctx, { limit: 500, cursor });
      ids.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  let enqueued = 0;
  for (const clientId of ids) {
    if (!options.clientIds && !(await describeDatasource(ctx, clientId))) continue; // never used: nothing to score
    await ctx.queue.enqueue(recalculateClientScoresJob, { clientId, runKey: options.runKey, now: options.now.toISOString(), reason: options.reason }, { key: `${options.runKey}:${clientId}` });
    enqueued++;
  }
  return enqueued;
}

export const nightlyScoringJob = defineJob<{ now?: string }, AppContext>({
  name: 'crm.nightly-scoring',
  retry: { attempts: 3 },
  async handler(data, ctx) {
    const now = data.now ? new Date(data.now) : new Date();
    const runKey = `nightly:${now.toISOString().slice(0, 10)}`;
    const enqueued = await enqueueScoreRecalculations(ctx, { now, runKey, reason: 'nightly' });
    ctx.logger.info({ runKey, enqueued }, 'nightly score recalculation enqueued');
    return { runKey, enqueued };
  },
});
