/**
 * `workflows.run-action-failed`: the dead-letter queue of run-action. A job lands here when
 * its last attempt failed, including when it expired (its worker died or hung); the row is
 * then marked failed (if the handler could not do it itself) and its callback goes out.
 */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { tenantDbById } from '../tenants/index.ts';
import { afterStepFinished, queueJobIdFor, RUN_ACTION_DEAD_QUEUE, RUN_ACTION_QUEUE, type RunActionData } from './run-workflow-action.job.ts';
import { failJobFinally } from './workflow-jobs.repo.ts';

export const recordFailedActionJob = defineJob<RunActionData, AppContext>({
  name: RUN_ACTION_DEAD_QUEUE,
  async handler(data, ctx) {
    // An operator may have retried the original job meanwhile: then it is not ours to fail.
    const { rows } = await ctx.controlDb.query<{ state: string }>(
      'SELECT state::text AS state FROM pgboss.job WHERE name = $1 AND id = $2', [RUN_ACTION_QUEUE, queueJobIdFor(data.clientId, { id: data.jobId, generation: data.generation })],
    );
    if (rows[0] && rows[0].state !== 'failed') return { recorded: false };
    const db = await tenantDbById(ctx, data.clientId);
    const row = await failJobFinally(db, data.jobId, data.generation, 'gave up after the last attempt (timed out or worker lost)');
    if (row) await afterStepFinished(ctx, data.clientId, db, row.id);
    return { recorded: Boolean(row) };
  },
});
