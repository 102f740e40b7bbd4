/** SQL for leads (always read with their contact). */
import type { Db } from '../../platform/db/pool.ts';

export interface LeadRow {
  id: string;
  contact_id: string;
  pipeline_id: string | null;
  stage: string;
  source: string;
  source_details: Record<string, unknown> | null;
  score: number;
  score_breakdown: unknown[];
  score_updated_at: Date | null;
  owner: string | null;
  custom_fields: Record<string, unknown>;
  tags: string[];
  first_contacted_at: Date | null;
  sla_breached_at: Date | null;
  created_at: Date;
  updated_at: Date;
  contact_name: string | null;
  contact_phone: string | null;
  contact_email: string | null;
}

export const LEAD_SELECT = `SELECT l.*, c.name AS contact_name, c.phone AS contact_phone, c.email AS contact_email
  FROM leads l JOIN contacts c ON c.id = l.contact_id`;

export async function findLead(db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<LeadRow | null> {
  const { rows } = await db.query<LeadRow>(`${LEAD_SELECT} WHERE l.id = $1${options.forUpdate ? ' FOR UPDATE OF l' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function findLeadByContact(db: Db, contactId: string): Promise<{ id: string } | null> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM leads WHERE contact_id = $1', [contactId]);
  return rows[0] ?? null;
}

export interface LeadWrite {
  pipelineId?: string;
  stage?: string;
  source?: string;
  sourceDetails?: Record<string, unknown> | null;
  owner?: string | null;
  customFields?: Record<string, unknown>;
  tags?: string[];
}

export async function insertLead(db: Db, contactId: string, input: LeadWrite & { pipelineId: string; stage: string }): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO leads (contact_id, pipeline_id, stage, source, source_details, owner, custom_fields, tags)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [contactId, input.pipelineId, input.stage, input.source ?? 'manual', input.sourceDetails ?? null, input.owner ?? null, input.customFields ?? {}, input.tags ?? []]);
  return rows[0].id;
}

export async function updateLeadRow(db: Db, id: string, input: LeadWrite): Promise<void> {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [id];
  const set = (column: string, value: unknown) => { params.push(value); sets.push(`${column} = $${params.length}`); };
  if (input.pipelineId !== undefined) set('pipeline_id', input.pipelineId);
  if (input.stage !== undefined) set('stage', input.stage);
  if (input.source !== undefined) set('source', input.source);
  if (input.sourceDetails !== undefined) set('source_details', input.sourceDetails);
  if (input.owner !== undefined) set('owner', input.owner);
  if (input.customFields !== undefined) set('custom_fields', input.customFields);
  if (input.tags !== undefined) set('tags', input.tags);
  await db.query(`UPDATE leads SET ${sets.join(', ')} WHERE id = $1`, params);
}

export async function deleteLeadRow(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM leads WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

export function presentLead(row: LeadRow) {
  return {
    id: row.id,
    contactId: row.contact_id,
    contact: { id: row.contact_id, name: row.contact_name, phone: row.contact_phone, email: row.contact_email },
    pipelineId: row.pipeline_id,
    stage: row.stage,
    source: row.source,
    sourceDetails: row.source_details,
    score: row.score,
    owner: row.owner,
    customFields: row.custom_fields,
    tags: row.tags,
    firstContactedAt: row.first_contacted_at?.toISOString() ?? null,
    slaBreachedAt: row.sla_breached_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
export type LeadView = ReturnType<typeof presentLead>;
