/**
 * The trigger use case (`POST /api/saas/workflows/trigger`, appointments, domain events).
 *
 * For each active workflow/automation of the trigger, each action gets a run time:
 *   base = baseTime (or now); offset = communication workflow: request delayMinutes if given,
 *   else the workflow's delayMinutes; automation action: (request delayMinutes or 0) + the
 *   action's delayMinutes. runAt = base + offset. A run time more than
 *   WORKFLOW_LATE_GRACE_SECONDS in the past is recorded as `skipped`, never sent late.
 * Identity (dedupe): `idempotencyKey` if given, else trigger + phone + callbackMetadata.moduleId +
 * callbackMetadata.reminderKey when either is present, else trigger + phone + a hash of the
 * variables, baseTime and delayMinutes (the same event sent twice is one event). Each row's id
 * derives from that key, so a repeated call finds its rows and enqueues nothing new.
 * Automation actions run in order: the first runnable step is enqueued now, each next one when
 * the previous finishes (so outputs such as a Meet link flow into later steps).
 * `appointment_rescheduled` (with moduleId and baseTime) moves the pending jobs of that module to
 * the new base time; `appointment_cancelled` (with moduleId) cancels them.
 */
import { createHash } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { jobIdForKey } from '../platform/jobs/queue.ts';
import { tenantDbById } from '../tenants/index.ts';
import { enqueueCallback } from './deliver-callback.job.ts';
import { enqueueStep, publishJob, queueJobIdFor, RUN_ACTION_QUEUE } from './run-workflow-action.job.ts';
import type { TriggerEvent } from './triggers.ts';
import {
  findJobsByIds, insertJob, pendingJobsForModule, setPendingVariables, updateSchedule, type NewWorkflowJob, type StopReason, type WorkflowJobRow,
} from './workflow-jobs.repo.ts';
import { actionsOf, activeForTrigger, type WorkflowRow } from './workflows.repo.ts';

export interface TriggerInput {
  clientId: string;
  trigger: TriggerEvent;
  phone: string;
  variables: string[];
  baseTime?: string;
  delayMinutes?: number;
  conversationId?: string;
  callbackUrl?: string;
  callbackMetadata?: Record<string, unknown>;
  idempotencyKey?: string;
  /** Values matched against automations' triggerConfig (default: callbackMetadata). */
  context?: Record<string, unknown>;
}

export interface TriggeredJob { id: string; workflow: string; runAt: string; status: string }
export interface TriggerResult {
  jobs: TriggeredJob[];
  message?: string;
  /** appointment_rescheduled: pending jobs moved. */
  moved?: number;
  /** appointment_cancelled: pending jobs cancelled. */
  cancelled?: number;
}

function metaString(meta: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = meta?.[name];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

/** The event's identity (see the module comment). */
export function triggerKey(input: TriggerInput): string {
  if (input.idempotencyKey) return `idem|${input.idempotencyKey}`;
  const moduleId = metaString(input.callbackMetadata, 'moduleId');
  const reminderKey = metaString(input.callbackMetadata, 'reminderKey');
  if (moduleId !== undefined || reminderKey !== undefined) return `${input.trigger}|${input.phone}|${moduleId ?? ''}|${reminderKey ?? ''}`;
  const content = createHash('sha256').update(JSON.stringify([input.variables, input.baseTime ?? null, input.delayMinutes ?? null])).digest('hex').slice(0, 32);
  return `${input.trigger}|${input.phone}|content:${content}`;
}

/** Every key of triggerConfig must equal the event's value (empty config matches everything). */
function matchesConfig(row: WorkflowRow, context: Record<string, unknown>): boolean {
  return Object.entries(row.trigger_config ?? {}).every(([k, v]) => JSON.stringify(context[k]) === JSON.stringify(v));
}

function lateReason(runAt: Date, now: number): StopReason {
  return { reason: 'late', message: `run time ${runAt.toISOString()} had already passed (${Math.round((now - runAt.getTime()) / 1000)} s ago): not sent late` };
}

function plan(input: TriggerInput, workflows: WorkflowRow[], now: number, graceMs: number): NewWorkflowJob[] {
  const base = input.baseTime ? new Date(input.baseTime).getTime() : now;
  const key = triggerKey(input);
  const moduleId = metaString(input.callbackMetadata, 'moduleId') ?? null;
  const rows: NewWorkflowJob[] = [];
  for (const wf of workflows) {
    const actions = actionsOf(wf);
    const runId = jobIdForKey('workflow_runs', `${input.clientId}|${key}|${wf.id}`);
    let firstQueued = false;
    actions.forEach((action, step) => {
      const offset = wf.kind === 'workflow' ? (input.delayMinutes ?? wf.delay_minutes) : (input.delayMinutes ?? 0) + (action.delayMinutes ?? 0);
      const runAt = new Date(base + offset * 60_000);
      const skipped = runAt.getTime() < now - graceMs;
      const dedupeKey = `${key}|${wf.id}|${step}`;
      const id = jobIdForKey('workflow_jobs', `${input.clientId}|${dedupeKey}`);
      const queueNow = !skipped && !firstQueued;
      if (queueNow) firstQueued = true;
      rows.push({
        id, dedupeKey, runId, step, workflowId: wf.id, workflowName: wf.name, actionType: action.type, actionConfig: action.config ?? {},
        trigger: input.trigger, phone: input.phone || null, variables: input.variables, conversationId: input.conversationId ?? null,
        moduleId, baseTime: input.baseTime ? new Date(base) : null, offsetMinutes: offset, runAt, status: skipped ? 'skipped' : 'pending',
        queueJobId: queueNow ? queueJobIdFor(input.clientId, { id, generation: 0 }) : null,
        callbackUrl: input.callbackUrl ?? null, callbackMetadata: input.callbackMetadata ?? null,
        output: skipped ? lateReason(runAt, now) : null,
      });
    });
  }
  return rows;
}

/** Moves (new base time) or cancels the pending jobs of a module. @returns how many */
async function changeModuleJobs(ctx: AppContext, clientId: string, moduleId: string, change: { cancel: true } | { baseTime: Date }, now: number): Promise<number> {
  const db = await tenantDbById(ctx, clientId);
  const graceMs = ctx.config.workflows.lateGraceSeconds * 1000;
  const stale: string[] = [];
  const toEnqueue: WorkflowJobRow[] = [];
  const stopped: WorkflowJobRow[] = [];
  const changed = await withTransaction(db, async (tx) => {
    const rows = await pendingJobsForModule(tx, moduleId);
    let count = 0;
    for (const row of rows) {
      if ('cancel' in change) {
        stopped.push(await updateSchedule(tx, row.id, {
          runAt: row.run_at, baseTime: row.base_time, status: 'cancelled', generation: row.generation, queueJobId: row.queue_job_id,
          reason: { reason: 'appointment_cancelled', message: `appointment_cancelled for module ${moduleId}` },
        }));
        if (row.queue_job_id) stale.push(row.queue_job_id);
        count++;
        continue;
      }
      if (!row.base_time) continue; // relative to "now" when triggered: nothing to move it by
      const runAt = new Date(change.baseTime.getTime() + row.offset_minutes * 60_000);
      const generation = row.generation + 1;
      const skipped = runAt.getTime() < now - graceMs;
      const queued = Boolean(row.queue_job_id);
      const queueJobId = queued && !skipped ? queueJobIdFor(clientId, { id: row.id, generation }) : null;
      const updated = await updateSchedule(tx, row.id, { runAt, baseTime: change.baseTime, status: skipped ? 'skipped' : 'pending', generation, queueJobId, reason: lateReason(runAt, now) });
      if (skipped) stopped.push(updated);
      if (row.queue_job_id) stale.push(row.queue_job_id);
      if (queueJobId) toEnqueue.push({ ...row, run_at: runAt, generation });
      count++;
    }
    return { count, ids: rows.map((r) => r.id) };
  });
  await ctx.queue.cancel(RUN_ACTION_QUEUE, stale);
  for (const row of toEnqueue) await enqueueStep(ctx, clientId, row);
  for (const row of stopped) await enqueueCallback(ctx, clientId, row);
  for (const row of await findJobsByIds(db, changed.ids)) publishJob(ctx, clientId, row);
  return changed.count;
}

/**
 * Gives the not-yet-run jobs of a module new trigger variables (an appointment's reminders learn
 * its Meet code once Google finished the conference). @returns how many jobs changed
 */
export async function refreshModuleVariables(ctx: AppContext, clientId: string, moduleId: string, variables: string[]): Promise<number> {
  const db = await tenantDbById(ctx, clientId);
  const rows = await setPendingVariables(db, moduleId, variables);
  for (const row of rows) publishJob(ctx, clientId, row);
  return rows.length;
}

export async function triggerWorkflows(ctx: AppContext, input: TriggerInput): Promise<TriggerResult> {
  const now = Date.now();
  const db = await tenantDbById(ctx, input.clientId);
  const result: TriggerResult = { jobs: [] };
  const moduleId = metaString(input.callbackMetadata, 'moduleId');
  if (moduleId && input.trigger === 'appointment_cancelled') {
    result.cancelled = await changeModuleJobs(ctx, input.clientId, moduleId, { cancel: true }, now);
  }
  if (moduleId && input.trigger === 'appointment_rescheduled' && input.baseTime) {
    result.moved = await changeModuleJobs(ctx, input.clientId, moduleId, { baseTime: new Date(input.baseTime) }, now);
  }
  const context = input.context ?? input.callbackMetadata ?? {};
  const workflows = (await activeForTrigger(db, input.trigger)).filter((wf) => matchesConfig(wf, context));
  if (workflows.length === 0) {
    result.message = `No active workflow for trigger ${input.trigger}`;
    return result;
  }
  const planned = plan(input, workflows, now, ctx.config.workflows.lateGraceSeconds * 1000);
  const inserted = await withTransaction(db, async (tx) => {
    const fresh: string[] = [];
    for (const job of planned) if (await insertJob(tx, job)) fresh.push(job.id);
    return new Set(fresh);
  });
  const rows = await findJobsByIds(db, planned.map((p) => p.id));
  for (const row of rows) {
    // Pending rows with a queue job: (re-)enqueue. Deterministic ids make this a no-op for an
    // existing job, and repair a row whose enqueue was lost (crash between the two databases).
    if (row.status === 'pending' && row.queue_job_id) await enqueueStep(ctx, input.clientId, row);
    // Skipped rows report that at once (a repeat re-queues nothing: the callback job is keyed).
    if (row.status === 'skipped') await enqueueCallback(ctx, input.clientId, row);
    if (inserted.has(row.id)) publishJob(ctx, input.clientId, row);
  }
  if (inserted.size === 0) result.message = 'Already triggered: no new jobs';
  result.jobs = rows.map((r) => ({ id: r.id, workflow: r.workflow_name, runAt: r.run_at.toISOString(), status: r.status }));
  return result;
}

