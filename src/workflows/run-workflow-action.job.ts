/**
 * `workflows.run-action`: runs one scheduled action (one workflow_jobs row).
 * Idempotent: the row is claimed for the job's generation only while pending
 * (or processing, when a worker died mid-attempt); the row id is the action's
 * idempotency key; an attempt that lost its claim records nothing.
 * After the action: the next step of the run is enqueued, the callback is
 * enqueued, and `job.updated` goes to the client's dashboards.
 */
import type pg from 'pg';
import { Value } from 'typebox/value';
import type { AppContext } from '../context.ts';
import { AppError, isAppError } from '../platform/errors.ts';
import { defineJob, jobIdForKey } from '../platform/jobs/queue.ts';
import { tenantDbById } from '../tenants/index.ts';
import { findAction } from './actions/index.ts';
import { ActionWaiting } from './actions/registry.ts';
import { enqueueCallback } from './deliver-callback.job.ts';
import { presentJob } from './present.ts';
import {
  cancelLaterSteps, claimJob, completeJob, deferJob, failAttempt, findJob, listRunSteps, setQueueJob, type WorkflowJobRow,
} from './workflow-jobs.repo.ts';

export interface RunActionData { clientId: string; jobId: string; generation: number }

export const RUN_ACTION_QUEUE = 'workflows.run-action';
export const RUN_ACTION_DEAD_QUEUE = 'workflows.run-action-failed';

function queueKey(clientId: string, row: Pick<WorkflowJobRow, 'id' | 'generation'>): string {
  return `${clientId}|${row.id}|${row.generation}`;
}

/** The queue job id a row (at its generation) runs under. */
export function queueJobIdFor(clientId: string, row: Pick<WorkflowJobRow, 'id' | 'generation'>): string {
  return jobIdForKey(RUN_ACTION_QUEUE, queueKey(clientId, row));
}

/** Enqueues a pending row at its run time (no-op when its queue job exists). */
export async function enqueueStep(ctx: AppContext, clientId: string, row: Pick<WorkflowJobRow, 'id' | 'generation' | 'run_at'>): Promise<string> {
  return ctx.queue.enqueue(runWorkflowActionJob, { clientId, jobId: row.id, generation: row.generation }, { key: queueKey(clientId, row), startAfter: row.run_at });
}

export function publishJob(ctx: AppContext, clientId: string, row: WorkflowJobRow): void {
  ctx.realtime.publish({ clientId, event: 'job.updated', payload: presentJob(row) });
}

/** A 4xx AppError (bad config, template not found, no lead) will not get better by retrying. */
function isPermanent(err: unknown): boolean {
  return isAppError(err) && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 409;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 1000);
}

/** What follows a step reaching a final state: next step, callback, dashboards. */
export async function afterStepFinished(ctx: AppContext, clientId: string, db: pg.Pool, jobId: string, newVars: Record<string, string> = {}): Promise<void> {
  const row = await findJob(db, jobId);
  if (!row) return;
  publishJob(ctx, clientId, row);
  if (row.status === 'completed' || row.status === 'skipped') {
    const next = (await listRunSteps(db, row.run_id)).find((s) => s.step > row.step && s.status === 'pending');
    if (next) {
      const vars = { ...row.vars, ...newVars };
      const queueJobId = queueJobIdFor(clientId, next);
      await setQueueJob(db, next.id, queueJobId, vars);
      await enqueueStep(ctx, clientId, next);
    }
  } else if (row.status === 'failed') {
    for (const cancelled of await cancelLaterSteps(db, row.run_id, row.step, `step ${row.step} (${row.action_type}) failed`)) {
      publishJob(ctx, clientId, cancelled);
      await enqueueCallback(ctx, clientId, cancelled);
    }
  }
  await enqueueCallback(ctx, clientId, row);
}

export const runWorkflowActionJob = defineJob<RunActionData, AppContext>({
  name: RUN_ACTION_QUEUE,
  deadLetter: RUN_ACTION_DEAD_QUEUE,
  async handler(data, ctx, _job, attempt) {
    const db = await tenantDbById(ctx, data.clientId);
    const row = await claimJob(db, data.jobId, data.generation);
    if (!row) return { skipped: 'not pending' };
    publishJob(ctx, data.clientId, row);
    try {
      const action = findAction(row.action_type);
      if (!action) throw new AppError('UNPROCESSABLE', { message: `Unknown action type ${row.action_type}` });
      if (!Value.Check(action.configSchema, row.action_config)) throw new AppError('VALIDATION_FAILED', { message: `Invalid config for ${row.action_type}` });
      const result = await action.execute({
        ctx, clientId: data.clientId, db, trigger: row.trigger, phone: row.phone ?? undefined, variables: row.variables,
        vars: row.vars, runId: row.id, idempotencyKey: row.id, callbackMetadata: row.callback_metadata ?? undefined,
        conversationId: row.conversation_id ?? undefined,
      }, row.action_config);
      const output = { ...result.output, ...(result.vars && Object.keys(result.vars).length ? { vars: result.vars } : {}) };
      if (await completeJob(db, row.id, row.attempts, output)) await afterStepFinished(ctx, data.clientId, db, row.id, result.vars);
      return output;
    } catch (err) {
      if (err instanceof ActionWaiting) {
        // Not a failure: run again later under a new generation, without using up an attempt.
        const deferred = await deferJob(db, row.id, row.attempts, new Date(Date.now() + err.retryInMs), errorText(err));
        if (deferred) {
          const queueJobId = queueJobIdFor(data.clientId, deferred);
          await setQueueJob(db, deferred.id, queueJobId, {});
          await enqueueStep(ctx, data.clientId, deferred);
          publishJob(ctx, data.clientId, { ...deferred, queue_job_id: queueJobId });
        }
        return { waiting: errorText(err) };
      }
      const permanent = isPermanent(err);
      const final = attempt.isLast || permanent;
      const recorded = await failAttempt(db, row.id, row.attempts, errorText(err), final);
      if (recorded) {
        if (final) await afterStepFinished(ctx, data.clientId, db, row.id);
        else {
          const updated = await findJob(db, row.id);
          if (updated) publishJob(ctx, data.clientId, updated);
        }
      }
      // Permanent failures are recorded as failed and not retried by the queue.
      if (permanent) return { failed: errorText(err) };
      throw err;
    }
  },
});
