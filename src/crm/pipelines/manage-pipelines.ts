/** Lists, creates, shows, updates and deletes pipelines with their ordered stages. */
import type pg from 'pg';
import type { Db } from '../../platform/db/pool.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { findPipeline, listPipelineRows, listStages, presentPipeline } from './pipelines.repo.ts';

export interface StageInput { key: string; name: string; isWon?: boolean; isLost?: boolean }

function pipelineNotFound(): AppError {
  return new AppError('PIPELINE_NOT_FOUND', { message: 'Pipeline not found' });
}

function checkStages(stages: StageInput[]): void {
  const keys = new Set<string>();
  for (const stage of stages) {
    if (keys.has(stage.key)) throw new AppError('VALIDATION_FAILED', { message: `Stage key ${stage.key} appears twice` });
    if (stage.isWon && stage.isLost) throw new AppError('VALIDATION_FAILED', { message: `Stage ${stage.key} cannot be both won and lost` });
    keys.add(stage.key);
  }
}

async function writeStages(tx: pg.PoolClient, pipelineId: string, stages: StageInput[]): Promise<void> {
  await tx.query(
    `INSERT INTO pipeline_stages (pipeline_id, key, name, position, is_won, is_lost)
     SELECT $1, key, name, ord, won, lost FROM unnest($2::text[], $3::text[], $4::bool[], $5::bool[]) WITH ORDINALITY AS s(key, name, won, lost, ord)`,
    [pipelineId, stages.map((s) => s.key), stages.map((s) => s.name), stages.map((s) => s.isWon ?? false), stages.map((s) => s.isLost ?? false)]);
}

export async function listPipelines(db: Db) {
  const pipelines = await listPipelineRows(db);
  const stages = await listStages(db, pipelines.map((p) => p.id));
  return { items: pipelines.map((p) => presentPipeline(p, stages)) };
}

export async function showPipeline(db: Db, id: string) {
  const pipeline = await findPipeline(db, id);
  if (!pipeline) throw pipelineNotFound();
  return presentPipeline(pipeline, await listStages(db, [id]));
}

export async function createPipeline(pool: pg.Pool, input: { name: string; stages: StageInput[]; isDefault?: boolean }) {
  checkStages(input.stages);
  const id = await withTransaction(pool, async (tx) => {
    if (input.isDefault) await tx.query('UPDATE pipelines SET is_default = false WHERE is_default');
    const { rows } = await tx.query<{ id: string }>('INSERT INTO pipelines (name, is_default) VALUES ($1, $2) RETURNING id', [input.name, input.isDefault ?? false]);
    await writeStages(tx, rows[0].id, input.stages);
    return rows[0].id;
  });
  return showPipeline(pool, id);
}

/** Renames, makes default, or replaces the stage list (a stage still holding leads cannot be removed). */
export async function updatePipeline(pool: pg.Pool, id: string, input: { name?: string; stages?: StageInput[]; isDefault?: boolean }) {
  if (input.stages) checkStages(input.stages);
  await withTransaction(pool, async (tx) => {
    const pipeline = await tx.query('SELECT id FROM pipelines WHERE id = $1 FOR UPDATE', [id]);
    if (!pipeline.rowCount) throw pipelineNotFound();
    if (input.name) await tx.query('UPDATE pipelines SET name = $2 WHERE id = $1', [id, input.name]);
    if (input.isDefault) {
      await tx.query('UPDATE pipelines SET is_default = false WHERE is_default AND id <> $1', [id]);
      await tx.query('UPDATE pipelines SET is_default = true WHERE id = $1', [id]);
    }
    if (input.stages) {
      const { rows } = await tx.query<{ stage: string; n: number }>(
        'SELECT stage, count(*)::int AS n FROM leads WHERE pipeline_id = $1 AND NOT (stage = ANY($2)) GROUP BY stage', [id, input.stages.map((s) => s.key)]);
      if (rows.length) {
        throw new AppError('CONFLICT', { message: `Stages still holding leads cannot be removed: ${rows.map((r) => `${r.stage} (${r.n})`).join(', ')}` });
      }
      await tx.query('DELETE FROM pipeline_stages WHERE pipeline_id = $1', [id]);
      await writeStages(tx, id, input.stages);
    }
  });
  return showPipeline(pool, id);
}

export async function deletePipeline(pool: pg.Pool, id: string): Promise<void> {
  await withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ is_default: boolean }>('SELECT is_default FROM pipelines WHERE id = $1 FOR UPDATE', [id]);
    if (!rows[0]) throw pipelineNotFound();
    if (rows[0].is_default) throw new AppError('CONFLICT', { message: 'The default pipeline cannot be deleted' });
    const { rows: used } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM leads WHERE pipeline_id = $1', [id]);
    if (used[0].n > 0) throw new AppError('CONFLICT', { message: `The pipeline still holds ${used[0].n} lead(s)` });
    await tx.query('DELETE FROM pipelines WHERE id = $1', [id]);
  });
}
