/**
 * Operator tools over the job queue (all queues): counts by queue and state, stuck jobs, list,
 * show, retry, cancel, kill. Replaces the runbook's hand-edited database queries. For workflow
 * action jobs the tenant's job history is kept in step (a cancelled queue job is a cancelled
 * workflow job; a retried one is pending again; a killed one fails and calls back).
 */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { tenantDbById } from '../tenants/index.ts';
import { afterStepFinished, RUN_ACTION_QUEUE, type RunActionData } from './run-workflow-action.job.ts';
import { enqueueCallback } from './deliver-callback.job.ts';
import { cancelByOperator, failJobFinally } from './workflow-jobs.repo.ts';

export const QUEUE_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

interface QueueJobRow {
  id: string;
  name: string;
  state: QueueState;
  data: Record<string, unknown> | null;
  output: Record<string, unknown> | null;
  retry_count: number;
  retry_limit: number;
  start_after: Date;
  started_on: Date | null;
  created_on: Date;
  completed_on: Date | null;
  heartbeat_on: Date | null;
  singleton_key: string | null;
}

function present(row: QueueJobRow) {
  return {
    id: row.id,
    queue: row.name,
    state: row.state,
    attempts: row.retry_count + (row.state === 'created' ? 0 : 1),
    maxAttempts: row.retry_limit + 1,
    // Job payloads carry ids only (never secrets), so they are safe to show.
    data: row.data ?? {},
    output: row.output,
    startAfter: row.start_after.toISOString(),
    startedAt: row.started_on?.toISOString() ?? null,
    createdAt: row.created_on.toISOString(),
    completedAt: row.completed_on?.toISOString() ?? null,
    heartbeatAt: row.heartbeat_on?.toISOString() ?? null,
  };
}
export type QueueJobView = ReturnType<typeof present>;

const COLUMNS = 'id, name, state, data, output, retry_count, retry_limit, start_after, started_on, created_on, completed_on, heartbeat_on, singleton_key';

export async function jobStats(ctx: AppContext) {
  const { rows } = await ctx.controlDb.query<{ name: string; state: QueueState; n: string }>(
    'SELECT name, state::text AS state, count(*) AS n FROM pgboss.job GROUP BY 1, 2 ORDER BY 1',
  );
  const queues = new Map<string, Record<QueueState, number>>();
  for (const name of ctx.queue.names) queues.set(name, Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])) as Record<QueueState, number>);
  const totals = Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])) as Record<QueueState, number>;
  for (const row of rows) {
    if (!queues.has(row.name)) queues.set(row.name, Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])) as Record<QueueState, number>);
    queues.get(row.name)![row.state] = Number(row.n);
    totals[row.state] += Number(row.n);
  }
  const { rows: stuck } = await ctx.controlDb.query<{ n: string }>(
    `SELECT count(*) AS n FROM pgboss.job WHERE state = 'active' AND started_on < now() - interval '10 minutes'`,
  );
  return { queues: [...queues].map(([name, counts]) => ({ name, ...counts })), totals, stuck: Number(stuck[0].n) };
}

export async function listQueueJobs(ctx: AppContext, query: { queue?: string; state?: QueueState; limit: number; before?: string }) {
  const { rows } = await ctx.controlDb.query<QueueJobRow>(
    `SELECT ${COLUMNS} FROM pgboss.job WHERE ($1::text IS NULL OR name = $1) AND ($2::text IS NULL OR state::text = $2)
       AND ($3::timestamptz IS NULL OR created_on < $3) ORDER BY created_on DESC LIMIT $4`,
    [query.queue ?? null, query.state ?? null, query.before ?? null, query.limit],
  );
  return { items: rows.map(present), nextBefore: rows.length === query.limit ? rows.at(-1)!.created_on.toISOString() : null };
}

/** Jobs active for longer than `olderThanMinutes` (a worker that hung or died; the queue re-runs them once expired). */
export async function stuckJobs(ctx: AppContext, olderThanMinutes: number) {
  const { rows } = await ctx.controlDb.query<QueueJobRow>(
    `SELECT ${COLUMNS} FROM pgboss.job WHERE state = 'active' AND started_on < now() - make_interval(mins => $1) ORDER BY started_on LIMIT 500`,
    [olderThanMinutes],
  );
  return { items: rows.map(present) };
}

async function findQueueJob(ctx: AppContext, id: string): Promise<QueueJobRow> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new AppError('NOT_FOUND', { message: 'Job not found' });
  const { rows } = await ctx.controlDb.query<QueueJobRow>(`SELECT ${COLUMNS} FROM pgboss.job WHERE id = $1 ORDER BY created_on DESC LIMIT 1`, [id]);
  if (!rows[0]) throw new AppError('NOT_FOUND', { message: 'Job not found' });
  return rows[0];
}

export async function showQueueJob(ctx: AppContext, id: string) {
  return present(await findQueueJob(ctx, id));
}

async function syncWorkflowRow(ctx: AppContext, job: QueueJobRow, to: 'pending' | 'cancelled' | 'failed'): Promise<void> {
  if (job.name !== RUN_ACTION_QUEUE || !job.data) return;
  const data = job.data as unknown as RunActionData;
  const db = await tenantDbById(ctx, data.clientId);
  if (to === 'failed') {
    const row = await failJobFinally(db, data.jobId, data.generation, 'killed by an operator', ['pending', 'processing']);
    if (row) await afterStepFinished(ctx, data.clientId, db, row.id);
    return;
  }
  if (to === 'cancelled') {
    const row = await cancelByOperator(db, data.jobId, data.generation);
    if (row) await enqueueCallback(ctx, data.clientId, row);
    return;
  }
  const from = ['failed', 'cancelled', 'processing'];
  await db.query(
    `UPDATE workflow_jobs SET status = $3, finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END, updated_at = now()
     WHERE id = $1 AND generation = $2 AND status = ANY($4)`,
    [data.jobId, data.generation, to, from],
  );
}

/** Re-queues a failed, cancelled or stuck (active) job. */
export async function retryQueueJob(ctx: AppContext, id: string) {
  let job = await findQueueJob(ctx, id);
  if (job.state === 'active') {
    await ctx.queue.boss.fail(job.name, id, { error: 're-queued by an operator' });
    job = await findQueueJob(ctx, id);
  }
  if (job.state === 'failed') await ctx.queue.boss.retry(job.name, id);
  else if (job.state === 'cancelled') await ctx.queue.boss.resume(job.name, id);
  else if (job.state !== 'retry') throw new AppError('CONFLICT', { message: `Job is ${job.state}; only failed, cancelled or stuck jobs can be retried` });
  await syncWorkflowRow(ctx, job, 'pending');
  return present(await findQueueJob(ctx, id));
}

/** Cancels a queued or running job (it will not run again unless retried). */
export async function cancelQueueJob(ctx: AppContext, id: string) {
  const job = await findQueueJob(ctx, id);
  if (!['created', 'retry', 'active'].includes(job.state)) throw new AppError('CONFLICT', { message: `Job is ${job.state}; only queued or running jobs can be cancelled` });
  await ctx.queue.boss.cancel(job.name, id);
  await syncWorkflowRow(ctx, job, 'cancelled');
  return present(await findQueueJob(ctx, id));
}

/** Kills a poison job: no more attempts, recorded as failed (workflow jobs call back `failed`). */
export async function killQueueJob(ctx: AppContext, id: string) {
  const job = await findQueueJob(ctx, id);
  if (!['created', 'retry', 'active'].includes(job.state)) throw new AppError('CONFLICT', { message: `Job is ${job.state}; only queued or running jobs can be killed` });
  await ctx.controlDb.query('UPDATE pgboss.job SET retry_limit = retry_count WHERE id = $1 AND name = $2', [id, job.name]);
  if (job.state === 'active') await ctx.queue.boss.fail(job.name, id, { error: 'killed by an operator' });
  else await ctx.queue.boss.cancel(job.name, id);
  await syncWorkflowRow(ctx, job, 'failed');
  return present(await findQueueJob(ctx, id));
}
