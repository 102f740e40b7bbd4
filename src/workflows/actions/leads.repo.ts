/** The lead queries the `update_lead` action needs. */
import type { Db } from '../../platform/db/pool.ts';

export async function findLeadId(db: Db, by: { leadId?: string; phone?: string }): Promise<string | undefined> {
  if (by.leadId) {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM leads WHERE id::text = $1', [by.leadId]);
    return rows[0]?.id;
  }
  if (by.phone) {
    const { rows } = await db.query<{ id: string }>(
      'SELECT l.id FROM leads l JOIN contacts c ON c.id = l.contact_id WHERE c.phone = $1 ORDER BY l.created_at DESC LIMIT 1', [by.phone],
    );
    return rows[0]?.id;
  }
  return undefined;
}

export async function applyLeadUpdate(db: Db, leadId: string, change: { stage?: string; addTags: string[]; removeTags: string[] }, summary: string) {
  const { rows } = await db.query<{ id: string; stage: string; tags: string[]; contact_id: string; previous_stage: string }>(
    `WITH prev AS (SELECT stage FROM leads WHERE id = $1)
     UPDATE leads SET stage = coalesce($2, stage),
       tags = ARRAY(SELECT DISTINCT t FROM unnest(tags || $3::text[]) AS t WHERE NOT (t = ANY($4::text[])) ORDER BY t),
       updated_at = now()
     WHERE id = $1 RETURNING id, stage, tags, contact_id, (SELECT stage FROM prev) AS previous_stage`,
    [leadId, change.stage ?? null, change.addTags, change.removeTags],
  );
  const lead = rows[0];
  if (lead) {
    await db.query(
      `INSERT INTO activities (contact_id, lead_id, type, summary, data, actor) VALUES ($1, $2, 'automation', $3, $4, 'automation')`,
      [lead.contact_id, lead.id, summary, { stage: lead.stage, previousStage: lead.previous_stage, tags: lead.tags }],
    );
  }
  return lead;
}
