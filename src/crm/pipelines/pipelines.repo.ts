/** SQL for pipelines and their ordered stages. */
import type { Db } from '../../platform/db/pool.ts';

export interface StageRow { id: string; pipeline_id: string; key: string; name: string; position: number; is_won: boolean; is_lost: boolean }
export interface PipelineRow { id: string; name: string; is_default: boolean; created_at: Date }

export async function findDefaultPipeline(db: Db): Promise<PipelineRow | null> {
  const { rows } = await db.query<PipelineRow>('SELECT * FROM pipelines ORDER BY is_default DESC, created_at LIMIT 1');
  return rows[0] ?? null;
}

export async function findPipeline(db: Db, id: string): Promise<PipelineRow | null> {
  const { rows } = await db.query<PipelineRow>('SELECT * FROM pipelines WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function listPipelineRows(db: Db): Promise<PipelineRow[]> {
  const { rows } = await db.query<PipelineRow>('SELECT * FROM pipelines ORDER BY is_default DESC, created_at, id');
  return rows;
}

export async function listStages(db: Db, pipelineIds: string[]): Promise<StageRow[]> {
  const { rows } = await db.query<StageRow>('SELECT * FROM pipeline_stages WHERE pipeline_id = ANY($1) ORDER BY pipeline_id, position', [pipelineIds]);
  return rows;
}

export async function findStage(db: Db, pipelineId: string, key: string): Promise<StageRow | null> {
  const { rows } = await db.query<StageRow>('SELECT * FROM pipeline_stages WHERE pipeline_id = $1 AND key = $2', [pipelineId, key]);
  return rows[0] ?? null;
}

export function presentPipeline(pipeline: PipelineRow, stages: StageRow[]) {
  return {
    id: pipeline.id,
    name: pipeline.name,
    isDefault: pipeline.is_default,
    createdAt: pipeline.created_at.toISOString(),
    stages: stages.filter((s) => s.pipeline_id === pipeline.id).map((s) => ({ key: s.key, name: s.name, position: s.position, isWon: s.is_won, isLost: s.is_lost })),
  };
}
