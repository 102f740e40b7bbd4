/** Job history for a client: one job with its attempts, or a filtered, cursor-paginated list. */
import type pg from 'pg';
import { AppError } from '../platform/errors.ts';
import { presentJob } from './present.ts';
import { findJob, listAttempts, listJobs, type WorkflowJobStatus } from './workflow-jobs.repo.ts';

export async function showWorkflowJob(db: pg.Pool, id: string) {
  const row = await findJob(db, id);
  if (!row) throw new AppError('NOT_FOUND', { message: 'Job not found' });
  const attempts = await listAttempts(db, id);
  return {
    ...presentJob(row),
    attemptHistory: attempts.map((a) => ({
      attempt: a.attempt, startedAt: a.started_at.toISOString(), finishedAt: a.finished_at?.toISOString() ?? null, outcome: a.outcome, error: a.error, output: a.output,
    })),
  };
}

export async function listWorkflowJobs(db: pg.Pool, query: { status?: string; trigger?: string; from?: string; to?: string; limit: number; cursor?: string }) {
  let after: { createdAt: string; id: string } | undefined;
  if (query.cursor) {
    try {
      const [at, id] = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8')) as [string, string];
      after = { createdAt: at, id };
      if (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/i.test(id)) throw new Error('bad');
    } catch {
      throw new AppError('BAD_REQUEST', { message: 'Invalid cursor: pass the nextCursor of a previous page' });
    }
  }
  const rows = await listJobs(db, {
    status: query.status as WorkflowJobStatus | undefined, trigger: query.trigger,
    from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined,
    limit: query.limit + 1, after,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  // created_at keeps microseconds; the cursor carries them so no row is skipped or repeated.
  const nextCursor = rows.length > query.limit && last ? Buffer.from(JSON.stringify([last.cursor_at, last.id])).toString('base64url') : null;
  return { items: page.map(presentJob), nextCursor };
}
