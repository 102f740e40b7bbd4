/** SQL for custom field definitions (`crm_fields`). */
import type { Db } from '../../platform/db/pool.ts';

export type FieldEntity = 'contact' | 'lead';
export const FIELD_TYPES = ['text', 'number', 'boolean', 'date', 'select', 'multiselect', 'email', 'phone'] as const;
export type FieldType = typeof FIELD_TYPES[number];

export interface FieldDefinition {
  id: string;
  entity: FieldEntity;
  key: string;
  label: string;
  type: FieldType;
  required: boolean;
  options: string[];
  createdAt: string;
}

interface FieldRow { id: string; entity: FieldEntity; key: string; label: string; type: FieldType; required: boolean; options: string[]; created_at: Date }

function toDefinition(row: FieldRow): FieldDefinition {
  return { id: row.id, entity: row.entity, key: row.key, label: row.label, type: row.type, required: row.required, options: row.options, createdAt: row.created_at.toISOString() };
}

export async function listFields(db: Db, entity?: FieldEntity): Promise<FieldDefinition[]> {
  const { rows } = await db.query<FieldRow>(
    'SELECT * FROM crm_fields WHERE ($1::text IS NULL OR entity = $1) ORDER BY entity, created_at, key', [entity ?? null]);
  return rows.map(toDefinition);
}

export async function insertField(db: Db, field: Omit<FieldDefinition, 'id' | 'createdAt'>): Promise<FieldDefinition | null> {
  const { rows } = await db.query<FieldRow>(
    `INSERT INTO crm_fields (entity, key, label, type, required, options) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (entity, key) DO NOTHING RETURNING *`,
    [field.entity, field.key, field.label, field.type, field.required, field.options]);
  return rows[0] ? toDefinition(rows[0]) : null;
}

export async function updateField(db: Db, id: string, patch: { label?: string; required?: boolean; options?: string[] }): Promise<FieldDefinition | null> {
  const { rows } = await db.query<FieldRow>(
    `UPDATE crm_fields SET label = coalesce($2, label), required = coalesce($3, required), options = coalesce($4, options)
     WHERE id = $1 RETURNING *`, [id, patch.label ?? null, patch.required ?? null, patch.options ?? null]);
  return rows[0] ? toDefinition(rows[0]) : null;
}

export async function deleteField(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM crm_fields WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}
