/**
 * Recalculates every lead of one client in keyset batches. Progress is saved
 * in `scoring_runs` in the same transaction as each batch, so a run that dies
 * (crash, deploy, retried job) resumes after the last committed batch and a
 * finished run is not repeated.
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { recalculateScores } from './recalculate-scores.ts';

export interface RecalculateClientOptions {
  clientId: string;
  /** Names the run ('nightly:2026-11-22', 'manual:<uuid>'); the same key resumes. */
  runKey: string;
  now: Date;
  reason: string;
  batchSize?: number;
  /** Called after each committed batch. */
  onProgress?: (progress: { processed: number; total: number; changed: number }) => void;
}

export interface RecalculateClientResult { runKey: string; processed: number; changed: number; crossed: number; total: number; resumed: boolean; alreadyFinished: boolean }

export async function recalculateClientScores(ctx: AppContext, pool: pg.Pool, options: RecalculateClientOptions): Promise<RecalculateClientResult> {
  const batchSize = options.batchSize ?? ctx.config.crm.scoringBatchSize;
  await pool.query('INSERT INTO scoring_runs (key) VALUES ($1) ON CONFLICT (key) DO NOTHING', [options.runKey]);
  const { rows } = await pool.query<{ last_lead_id: string | null; processed: number; changed: number; finished_at: Date | null }>(
    'SELECT last_lead_id, processed, changed, finished_at FROM scoring_runs WHERE key = $1', [options.runKey]);
  const run = rows[0];
  const { rows: count } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM leads');
  const total = count[0].n;
  const result: RecalculateClientResult = { runKey: options.runKey, processed: run.processed, changed: run.changed, crossed: 0, total, resumed: run.processed > 0 && !run.finished_at, alreadyFinished: Boolean(run.finished_at) };
  if (run.finished_at) return result;
  let after = run.last_lead_id;
  for (;;) {
    const batch = await withTransaction(pool, async (tx) => {
      const scored = await recalculateScores(tx, { afterId: after, limit: batchSize }, { now: options.now, reason: options.reason });
      await tx.query(
        `UPDATE scoring_runs SET last_lead_id = coalesce($2, last_lead_id), processed = processed + $3, changed = changed + $4,
           finished_at = CASE WHEN $3 < $5 THEN now() END WHERE key = $1`,
        [options.runKey, scored.lastLeadId, scored.processed, scored.changed.length, batchSize]);
      return scored;
    });
    result.processed += batch.processed;
    result.changed += batch.changed.length;
    result.crossed += batch.crossed;
    options.onProgress?.({ processed: result.processed, total: Math.max(total, result.processed), changed: result.changed });
    if (batch.processed < batchSize) break;
    after = batch.lastLeadId;
  }
  if (result.crossed > 0) ctx.domainEvents.recorded(options.clientId);
  if (result.changed > 0) ctx.realtime.publish({ clientId: options.clientId, event: 'leads.rescored', payload: { runKey: options.runKey, processed: result.processed, changed: result.changed } });
  return result;
}
