/** SQL for the client's synced WhatsApp templates (tenant database). */
import type { Db } from '../platform/db/pool.ts';
import type { GraphTemplate } from './graph-client.ts';
import type { ParameterCounts } from './template-rules.ts';

export interface TemplateRow {
  id: string;
  wa_template_id: string | null;
  name: string;
  language: string;
  status: string;
  category: string | null;
  components: Array<Record<string, unknown>>;
  parameter_counts: ParameterCounts;
  rejected_reason: string | null;
  synced_at: Date;
  deleted_at: Date | null;
}

/** A live (not deleted) template by name and language. */
export async function findTemplate(db: Db, name: string, language: string): Promise<TemplateRow | undefined> {
  const { rows } = await db.query<TemplateRow>('SELECT * FROM whatsapp_templates WHERE name = $1 AND language = $2 AND deleted_at IS NULL', [name, language]);
  return rows[0];
}

export async function findTemplateLanguages(db: Db, name: string): Promise<TemplateRow[]> {
  const { rows } = await db.query<TemplateRow>('SELECT * FROM whatsapp_templates WHERE name = $1 AND deleted_at IS NULL ORDER BY language', [name]);
  return rows;
}

export async function upsertTemplate(db: Db, t: GraphTemplate, counts: ParameterCounts, syncedAt: Date): Promise<void> {
  await db.query(
    `INSERT INTO whatsapp_templates (wa_template_id, name, language, status, category, components, parameter_counts, rejected_reason, synced_at, deleted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)
     ON CONFLICT (name, language) DO UPDATE SET wa_template_id = EXCLUDED.wa_template_id, status = EXCLUDED.status, category = EXCLUDED.category,
       components = EXCLUDED.components, parameter_counts = EXCLUDED.parameter_counts, rejected_reason = EXCLUDED.rejected_reason,
       synced_at = EXCLUDED.synced_at, deleted_at = NULL`,
    [t.id ?? null, t.name, t.language, t.status, t.category ?? null, JSON.stringify(t.components ?? []), JSON.stringify(counts), t.rejected_reason ?? null, syncedAt],
  );
}

/** Templates Meta no longer lists are marked deleted (kept for history). @returns how many */
export async function markMissingDeleted(db: Db, syncedAt: Date): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE whatsapp_templates SET status = 'DELETED', deleted_at = now() WHERE synced_at < $1 AND deleted_at IS NULL`, [syncedAt],
  );
  return rowCount ?? 0;
}

export async function listTemplateRows(db: Db, options: { status?: string; includeDeleted: boolean; name?: string }): Promise<TemplateRow[]> {
  const { rows } = await db.query<TemplateRow>(
    `SELECT * FROM whatsapp_templates
     WHERE ($1::text IS NULL OR status = $1) AND ($2 OR deleted_at IS NULL) AND ($3::text IS NULL OR name = $3)
     ORDER BY name, language LIMIT 1000`,
    [options.status ?? null, options.includeDeleted, options.name ?? null],
  );
  return rows;
}
