/** Job: recalculate every lead score of one client (resumable; see recalculate-client.ts). */
import type { AppContext } from '../../context.ts';
import { defineJob } from '../../platform/jobs/queue.ts';
import { tenantDbById } from '../../tenants/index.ts';
import { recalculateClientScores } from './recalculate-client.ts';

export interface RecalculateClientScoresData {
  clientId: string;
  runKey: string;
  /** ISO time decay is measured to (fixed per run, so a resumed run scores consistently). */
  now: string;
  reason: string;
}

export const recalculateClientScoresJob = defineJob<RecalculateClientScoresData, AppContext>({
  name: 'crm.recalculate-client-scores',
  concurrency: 1,
  retry: { attempts: 5, expireInSeconds: 3600 },
  async handler(data, ctx) {
    const pool = await tenantDbById(ctx, data.clientId);
    const result = await recalculateClientScores(ctx, pool, { clientId: data.clientId, runKey: data.runKey, now: new Date(data.now), reason: data.reason });
    ctx.logger.info({ clientId: data.clientId, ...result }, 'lead scores recalculated');
    return result;
  },
});
