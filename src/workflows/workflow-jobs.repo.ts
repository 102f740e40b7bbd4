/** Workflow jobs (one row per scheduled action) and their attempts, in the tenant database. */
import type { Db } from '../platform/db/pool.ts';

export type WorkflowJobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'skipped' | 'cancelled';
export const JOB_STATUSES: readonly WorkflowJobStatus[] = ['pending', 'processing', 'completed', 'failed', 'skipped', 'cancelled'];

export interface WorkflowJobRow {
  id: string;
  dedupe_key: string;
  run_id: string;
  step: number;
  workflow_id: string | null;
  workflow_name: string;
  action_type: string;
  action_config: Record<string, unknown>;
  trigger: string;
  phone: string | null;
  variables: string[];
  vars: Record<string, string>;
  conversation_id: string | null;
  module_id: string | null;
  base_time: Date | null;
  offset_minutes: number;
  run_at: Date;
  status: WorkflowJobStatus;
  generation: number;
  queue_job_id: string | null;
  attempts: number;
  last_error: string | null;
  output: Record<string, unknown> | null;
  callback_url: string | null;
  callback_metadata: Record<string, unknown> | null;
  callback_status: string | null;
  callback_attempts: number;
  callback_error: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewWorkflowJob {
  id: string;
  dedupeKey: string;
  runId: string;
  step: number;
  workflowId: string | null;
  workflowName: string;
  actionType: string;
  actionConfig: Record<string, unknown>;
  trigger: string;
  phone: string | null;
  variables: string[];
  conversationId: string | null;
  moduleId: string | null;
  baseTime: Date | null;
  offsetMinutes: number;
  runAt: Date;
  status: WorkflowJobStatus;
  queueJobId: string | null;
  callbackUrl: string | null;
  callbackMetadata: Record<string, unknown> | null;
  /** For a job inserted as skipped: why. */
  output?: StopReason | null;
}

/** Why a job was skipped or cancelled: stored as its `output`, sent as the callback's `result`. */
export interface StopReason { reason: 'late' | 'appointment_cancelled' | 'previous_step_failed' | 'operator_cancelled'; message: string }

/**
 * SQL assignments for a job reaching a final state: a new callback event is due (when the job has a
 * callback URL). Each terminal transition is guarded by its WHERE clause, so it happens once per event.
 */
const CALLBACK_DUE = `callback_status = CASE WHEN callback_url IS NOT NULL THEN 'pending' END, callback_attempts = 0, callback_error = NULL`;

/** Inserts a job unless its dedupe key exists. @returns true when inserted */
export async function insertJob(db: Db, job: NewWorkflowJob): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO workflow_jobs (id, dedupe_key, run_id, step, workflow_id, workflow_name, action_type, action_config, trigger, phone,
       variables, conversation_id, module_id, base_time, offset_minutes, run_at, status, queue_job_id, callback_url, callback_metadata,
       finished_at, callback_status, output)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
       CASE WHEN $17 = 'skipped' THEN now() END, CASE WHEN $19::text IS NOT NULL THEN 'pending' END, $21)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [job.id, job.dedupeKey, job.runId, job.step, job.workflowId, job.workflowName, job.actionType, job.actionConfig, job.trigger, job.phone,
      JSON.stringify(job.variables), job.conversationId, job.moduleId, job.baseTime, job.offsetMinutes, job.runAt, job.status, job.queueJobId,
      job.callbackUrl, job.callbackMetadata, job.output ?? null],
  );
  return rowCount === 1;
}

export async function findJob(db: Db, id: string): Promise<WorkflowJobRow | undefined> {
  const { rows } = await db.query<WorkflowJobRow>('SELECT * FROM workflow_jobs WHERE id = $1', [id]);
  return rows[0];
}

export async function findJobsByIds(db: Db, ids: string[]): Promise<WorkflowJobRow[]> {
  const { rows } = await db.query<WorkflowJobRow>('SELECT * FROM workflow_jobs WHERE id = ANY($1::uuid[]) ORDER BY run_at, step', [ids]);
  return rows;
}

export async function listRunSteps(db: Db, runId: string): Promise<WorkflowJobRow[]> {
  const { rows } = await db.query<WorkflowJobRow>('SELECT * FROM workflow_jobs WHERE run_id = $1 ORDER BY step', [runId]);
  return rows;
}

export async function pendingJobsForModule(db: Db, moduleId: string): Promise<WorkflowJobRow[]> {
  const { rows } = await db.query<WorkflowJobRow>(
    `SELECT * FROM workflow_jobs WHERE module_id = $1 AND status = 'pending' ORDER BY run_at FOR UPDATE`, [moduleId],
  );
  return rows;
}

/** Replaces the trigger variables of a module's pending jobs (e.g. a Meet code known only later). @returns the rows changed */
export async function setPendingVariables(db: Db, moduleId: string, variables: string[]): Promise<WorkflowJobRow[]> {
  const { rows } = await db.query<WorkflowJobRow>(
    `UPDATE workflow_jobs SET variables = $2, updated_at = now() WHERE module_id = $1 AND status = 'pending' AND variables <> $2 RETURNING *`,
    [moduleId, JSON.stringify(variables)],
  );
  return rows;
}

/** Moves a pending job, or stops it (skipped/cancelled, with the reason, and its callback due). @returns the row */
export async function updateSchedule(db: Db, id: string, fields: { runAt: Date; baseTime: Date | null; status: WorkflowJobStatus; generation: number; queueJobId: string | null; reason?: StopReason }): Promise<WorkflowJobRow> {
  const stopped = fields.status === 'skipped' || fields.status === 'cancelled';
  const { rows } = await db.query<WorkflowJobRow>(
    `UPDATE workflow_jobs SET run_at = $2, base_time = $3, status = $4, generation = $5, queue_job_id = $6,
       ${stopped ? `finished_at = now(), output = $7, ${CALLBACK_DUE},` : ''}
       updated_at = now() WHERE id = $1 RETURNING *`,
    [id, fields.runAt, fields.baseTime, fields.status, fields.generation, fields.queueJobId, ...(stopped ? [fields.reason ?? null] : [])],
  );
  return rows[0];
}

export async function setQueueJob(db: Db, id: string, queueJobId: string, vars: Record<string, string>): Promise<void> {
  await db.query('UPDATE workflow_jobs SET queue_job_id = $2, vars = vars || $3::jsonb, updated_at = now() WHERE id = $1', [id, queueJobId, JSON.stringify(vars)]);
}

/**
 * Claims a job for one attempt: only a pending or processing (worker died) job of the
 * expected generation. @returns the row with `attempts` already incremented, or undefined
 */
export async function claimJob(db: Db, id: string, generation: number): Promise<WorkflowJobRow | undefined> {
  const { rows } = await db.query<WorkflowJobRow>(
    `UPDATE workflow_jobs SET status = 'processing', attempts = attempts + 1, started_at = coalesce(started_at, now()), updated_at = now()
     WHERE id = $1 AND generation = $2 AND status IN ('pending', 'processing') RETURNING *`,
    [id, generation],
  );
  const row = rows[0];
  if (row) {
    await db.query(
      `UPDATE workflow_job_attempts SET outcome = 'failed', error = coalesce(error, 'abandoned (worker stopped or timed out)'), finished_at = now()
       WHERE job_id = $1 AND outcome = 'running'`, [id],
    );
    await db.query('INSERT INTO workflow_job_attempts (job_id, attempt) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, row.attempts]);
  }
  return row;
}

/** Records a successful attempt (ignored when a later attempt took over). @returns true when recorded */
export async function completeJob(db: Db, id: string, attempt: number, output: Record<string, unknown>): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE workflow_jobs SET status = 'completed', output = $3, last_error = NULL, finished_at = now(), ${CALLBACK_DUE}, updated_at = now()
     WHERE id = $1 AND attempts = $2 AND status = 'processing'`,
    [id, attempt, output],
  );
  await db.query(`UPDATE workflow_job_attempts SET outcome = 'succeeded', output = $3, finished_at = now() WHERE job_id = $1 AND attempt = $2`, [id, attempt, output]);
  return rowCount === 1;
}

/**
 * The action asked to wait (ActionWaiting): back to pending at `runAt` under a new generation (the
 * caller enqueues it), the attempt recorded as `waiting`. @returns the row, unless a later attempt took over
 */
export async function deferJob(db: Db, id: string, attempt: number, runAt: Date, note: string): Promise<WorkflowJobRow | undefined> {
  const { rows } = await db.query<WorkflowJobRow>(
    `UPDATE workflow_jobs SET status = 'pending', generation = generation + 1, run_at = $3, queue_job_id = NULL, last_error = $4, updated_at = now()
     WHERE id = $1 AND attempts = $2 AND status = 'processing' RETURNING *`,
    [id, attempt, runAt, note],
  );
  await db.query(`UPDATE workflow_job_attempts SET outcome = 'waiting', error = $3, finished_at = now() WHERE job_id = $1 AND attempt = $2`, [id, attempt, note]);
  return rows[0];
}

/** Records a failed attempt; `final` marks the job failed, otherwise it waits for its retry. */
export async function failAttempt(db: Db, id: string, attempt: number, error: string, final: boolean): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE workflow_jobs SET status = CASE WHEN $4 THEN 'failed' ELSE 'pending' END, last_error = $3,
       finished_at = CASE WHEN $4 THEN now() END, updated_at = now(),
       callback_status = CASE WHEN $4 AND callback_url IS NOT NULL THEN 'pending' WHEN $4 THEN NULL ELSE callback_status END,
       callback_attempts = CASE WHEN $4 THEN 0 ELSE callback_attempts END, callback_error = CASE WHEN $4 THEN NULL ELSE callback_error END
     WHERE id = $1 AND attempts = $2 AND status = 'processing'`,
    [id, attempt, error, final],
  );
  await db.query(`UPDATE workflow_job_attempts SET outcome = 'failed', error = $3, finished_at = now() WHERE job_id = $1 AND attempt = $2`, [id, attempt, error]);
  return rowCount === 1;
}

/** Marks a running job failed whatever attempt it was on (dead letter: the queue gave up on an expired attempt; operator kill). */
export async function failJobFinally(db: Db, id: string, generation: number, error: string, from: WorkflowJobStatus[] = ['processing']): Promise<WorkflowJobRow | undefined> {
  const { rows } = await db.query<WorkflowJobRow>(
    `UPDATE workflow_jobs SET status = 'failed', last_error = coalesce(last_error, $3), finished_at = now(), ${CALLBACK_DUE}, updated_at = now()
     WHERE id = $1 AND generation = $2 AND status = ANY($4) RETURNING *`,
    [id, generation, error, from],
  );
  await db.query(`UPDATE workflow_job_attempts SET outcome = 'failed', error = coalesce(error, $2), finished_at = now() WHERE job_id = $1 AND outcome = 'running'`, [id, error]);
  return rows[0];
}

/** Cancels the not-yet-run later steps of a run (after a step failed for good). @returns the cancelled rows */
export async function cancelLaterSteps(db: Db, runId: string, afterStep: number, reason: string): Promise<WorkflowJobRow[]> {
  const { rows } = await db.query<WorkflowJobRow>(
    `UPDATE workflow_jobs SET status = 'cancelled', last_error = $3, finished_at = now(), output = $4, ${CALLBACK_DUE}, updated_at = now()
     WHERE run_id = $1 AND step > $2 AND status = 'pending' RETURNING *`,
    [runId, afterStep, reason, { reason: 'previous_step_failed', message: reason } satisfies StopReason],
  );
  return rows;
}

/** An operator cancelled the job's queue job. @returns the row when it was pending or running */
export async function cancelByOperator(db: Db, id: string, generation: number): Promise<WorkflowJobRow | undefined> {
  const { rows } = await db.query<WorkflowJobRow>(
    `UPDATE workflow_jobs SET status = 'cancelled', finished_at = now(), output = $3, ${CALLBACK_DUE}, updated_at = now()
     WHERE id = $1 AND generation = $2 AND status IN ('pending', 'processing') RETURNING *`,
    [id, generation, { reason: 'operator_cancelled', message: 'cancelled by an operator' } satisfies StopReason],
  );
  return rows[0];
}

export async function setCallbackState(db: Db, id: string, state: { status: 'pending' | 'delivered' | 'failed'; attempts: number; error: string | null }): Promise<void> {
  await db.query('UPDATE workflow_jobs SET callback_status = $2, callback_attempts = $3, callback_error = $4, updated_at = now() WHERE id = $1', [id, state.status, state.attempts, state.error]);
}

export async function listAttempts(db: Db, id: string) {
  const { rows } = await db.query<{ attempt: number; started_at: Date; finished_at: Date | null; outcome: string; error: string | null; output: Record<string, unknown> | null }>(
    'SELECT attempt, started_at, finished_at, outcome, error, output FROM workflow_job_attempts WHERE job_id = $1 ORDER BY attempt', [id],
  );
  return rows;
}

export interface JobListFilter {
  status?: WorkflowJobStatus;
  trigger?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** (created_at, id) of the last row of the previous page */
  after?: { createdAt: string; id: string };
}

export async function listJobs(db: Db, filter: JobListFilter): Promise<Array<WorkflowJobRow & { cursor_at: string }>> {
  const { rows } = await db.query<WorkflowJobRow & { cursor_at: string }>(
    `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at FROM workflow_jobs
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR trigger = $2)
       AND ($3::timestamptz IS NULL OR run_at >= $3) AND ($4::timestamptz IS NULL OR run_at < $4)
       AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $7`,
    [filter.status ?? null, filter.trigger ?? null, filter.from ?? null, filter.to ?? null, filter.after?.createdAt ?? null, filter.after?.id ?? null, filter.limit],
  );
  return rows;
}
