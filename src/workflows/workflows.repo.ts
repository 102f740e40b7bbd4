/** Communication workflows and CRM automations (table `workflows`, told apart by `kind`). */
import type { Db } from '../platform/db/pool.ts';

export type WorkflowKind = 'workflow' | 'automation';

export interface AutomationAction {
  type: string;
  delayMinutes: number;
  config: Record<string, unknown>;
}

export interface WorkflowRow {
  id: string;
  kind: WorkflowKind;
  name: string;
  trigger: string;
  channel: string | null;
  template_name: string | null;
  language: string | null;
  delay_minutes: number;
  trigger_config: Record<string, unknown>;
  actions: AutomationAction[];
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface WorkflowFields {
  name: string;
  trigger: string;
  channel?: string | null;
  templateName?: string | null;
  language?: string | null;
  delayMinutes?: number;
  triggerConfig?: Record<string, unknown>;
  actions?: AutomationAction[];
  isActive?: boolean;
}

export async function insertWorkflow(db: Db, kind: WorkflowKind, f: WorkflowFields): Promise<WorkflowRow> {
  const { rows } = await db.query<WorkflowRow>(
    `INSERT INTO workflows (kind, name, trigger, channel, template_name, language, delay_minutes, trigger_config, actions, is_active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [kind, f.name, f.trigger, f.channel ?? null, f.templateName ?? null, f.language ?? null, f.delayMinutes ?? 0,
      f.triggerConfig ?? {}, JSON.stringify(f.actions ?? []), f.isActive ?? true],
  );
  return rows[0];
}

export async function findWorkflow(db: Db, kind: WorkflowKind, id: string): Promise<WorkflowRow | undefined> {
  const { rows } = await db.query<WorkflowRow>('SELECT * FROM workflows WHERE id = $1 AND kind = $2', [id, kind]);
  return rows[0];
}

export async function listWorkflows(db: Db, kind: WorkflowKind, filter: { trigger?: string; isActive?: boolean; limit: number; after?: { createdAt: string; id: string } }): Promise<Array<WorkflowRow & { cursor_at: string }>> {
  const { rows } = await db.query<WorkflowRow & { cursor_at: string }>(
    `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at FROM workflows WHERE kind = $1 AND ($2::text IS NULL OR trigger = $2) AND ($3::boolean IS NULL OR is_active = $3)
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $6`,
    [kind, filter.trigger ?? null, filter.isActive ?? null, filter.after?.createdAt ?? null, filter.after?.id ?? null, filter.limit],
  );
  return rows;
}

/** Active workflows and automations listening to `trigger`, oldest first. */
export async function activeForTrigger(db: Db, trigger: string): Promise<WorkflowRow[]> {
  const { rows } = await db.query<WorkflowRow>('SELECT * FROM workflows WHERE trigger = $1 AND is_active ORDER BY created_at, id', [trigger]);
  return rows;
}

export async function updateWorkflow(db: Db, kind: WorkflowKind, id: string, f: Partial<WorkflowFields>): Promise<WorkflowRow | undefined> {
  const { rows } = await db.query<WorkflowRow>(
    `UPDATE workflows SET
       name = coalesce($3, name), trigger = coalesce($4, trigger), channel = coalesce($5, channel),
       template_name = coalesce($6, template_name), language = CASE WHEN $11 THEN $7 ELSE language END,
       delay_minutes = coalesce($8, delay_minutes), trigger_config = coalesce($9, trigger_config),
       actions = coalesce($10::jsonb, actions), is_active = coalesce($12, is_active), updated_at = now()
     WHERE id = $1 AND kind = $2 RETURNING *`,
    [id, kind, f.name ?? null, f.trigger ?? null, f.channel ?? null, f.templateName ?? null, f.language ?? null, f.delayMinutes ?? null,
      f.triggerConfig ?? null, f.actions ? JSON.stringify(f.actions) : null, f.language !== undefined, f.isActive ?? null],
  );
  return rows[0];
}

export async function deleteWorkflow(db: Db, kind: WorkflowKind, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM workflows WHERE id = $1 AND kind = $2', [id, kind]);
  return rowCount === 1;
}

/** The ordered actions a definition runs (a communication workflow is one send_whatsapp). */
export function actionsOf(row: WorkflowRow): AutomationAction[] {
  if (row.kind === 'workflow') {
    return [{ type: 'send_whatsapp', delayMinutes: row.delay_minutes, config: { templateName: row.template_name, ...(row.language ? { language: row.language } : {}) } }];
  }
  return row.actions;
}
