/** Scoring configuration per client: rules, groups (caps) and settings (half-life, thresholds). */
import type pg from 'pg';
import type { Db } from '../../platform/db/pool.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';

export const SIGNALS = ['message_inbound', 'reply_fast', 'button_click', 'message_read', 'from_ad', 'appointment_confirmed', 'appointment_attended',
  'appointment_no_show', 'purchase', 'enrolment', 'email_open', 'email_click', 'fit'] as const;
export const FIT_OPERATORS = ['exists', 'not_exists', 'eq', 'neq', 'in', 'contains', 'gt', 'gte', 'lt', 'lte'] as const;

interface RuleRow { id: string; key: string; name: string; group_key: string; signal: string; points: string; max_points: string | null; field: string | null; operator: string | null; value: unknown; decays: boolean; is_active: boolean; position: number }

function presentRule(r: RuleRow) {
  return {
    id: r.id, key: r.key, name: r.name, group: r.group_key, signal: r.signal, points: Number(r.points),
    maxPoints: r.max_points === null ? null : Number(r.max_points), field: r.field, operator: r.operator, value: r.value ?? null,
    decays: r.decays, isActive: r.is_active, position: r.position,
  };
}

export async function getScoringConfig(db: Db) {
  const rules = await db.query<RuleRow>('SELECT * FROM scoring_rules ORDER BY position, key');
  const groups = await db.query<{ key: string; name: string; cap: string | null }>('SELECT * FROM scoring_groups ORDER BY key');
  const settings = await db.query<{ half_life_days: string; thresholds: Array<{ key: string; score: number }>; fast_reply_minutes: number }>('SELECT * FROM scoring_settings LIMIT 1');
  return {
    rules: rules.rows.map(presentRule),
    groups: groups.rows.map((g) => ({ key: g.key, name: g.name, cap: g.cap === null ? null : Number(g.cap) })),
    settings: { halfLifeDays: Number(settings.rows[0].half_life_days), thresholds: settings.rows[0].thresholds, fastReplyMinutes: settings.rows[0].fast_reply_minutes },
  };
}

export interface RuleInput {
  key?: string; name?: string; group?: string; signal?: string; points?: number; maxPoints?: number | null;
  field?: string | null; operator?: string | null; value?: unknown; decays?: boolean; isActive?: boolean; position?: number;
}

function checkRule(rule: Required<Pick<RuleInput, 'signal'>> & RuleInput): void {
  if (rule.signal === 'fit') {
    if (!rule.field || !rule.operator) throw new AppError('VALIDATION_FAILED', { message: 'A fit rule needs field and operator' });
    if (!/^(email|name|phone|source|stage|owner|tags|custom\.[A-Za-z0-9_]{1,64})$/.test(rule.field)) {
      throw new AppError('VALIDATION_FAILED', { message: 'field must be email, name, phone, source, stage, owner, tags or custom.<key>' });
    }
    if (['gt', 'gte', 'lt', 'lte'].includes(rule.operator) && typeof rule.value !== 'number') throw new AppError('VALIDATION_FAILED', { message: `operator ${rule.operator} needs a numeric value` });
    if (rule.operator === 'in' && !Array.isArray(rule.value)) throw new AppError('VALIDATION_FAILED', { message: 'operator in needs an array value' });
    if (['eq', 'neq', 'contains'].includes(rule.operator) && rule.value === undefined) throw new AppError('VALIDATION_FAILED', { message: `operator ${rule.operator} needs a value` });
  }
}

async function requireGroup(db: Db, key: string): Promise<void> {
  const { rowCount } = await db.query('SELECT 1 FROM scoring_groups WHERE key = $1', [key]);
  if (!rowCount) throw new AppError('VALIDATION_FAILED', { message: `Unknown scoring group ${key} (create it in settings.groups first)` });
}

export async function createRule(db: Db, input: RuleInput & { key: string; name: string; group: string; signal: string; points: number }) {
  checkRule(input);
  await requireGroup(db, input.group);
  const { rows } = await db.query<RuleRow>(
    `INSERT INTO scoring_rules (key, name, group_key, signal, points, max_points, field, operator, value, decays, is_active, position)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (key) DO NOTHING RETURNING *`,
    [input.key, input.name, input.group, input.signal, input.points, input.maxPoints ?? null, input.field ?? null, input.operator ?? null,
      input.value === undefined ? null : JSON.stringify(input.value), input.decays ?? input.signal !== 'fit', input.isActive ?? true, input.position ?? 100]);
  if (!rows[0]) throw new AppError('CONFLICT', { message: `A scoring rule with key ${input.key} already exists` });
  return presentRule(rows[0]);
}

export async function updateRule(pool: pg.Pool, id: string, input: RuleInput) {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<RuleRow>('SELECT * FROM scoring_rules WHERE id = $1 FOR UPDATE', [id]);
    if (!rows[0]) throw new AppError('SCORING_RULE_NOT_FOUND', { message: 'Scoring rule not found' });
    const current = presentRule(rows[0]);
    const next = { ...current, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as ReturnType<typeof presentRule>;
    checkRule(next);
    if (input.group) await requireGroup(tx, input.group);
    const { rows: updated } = await tx.query<RuleRow>(
      `UPDATE scoring_rules SET name = $2, group_key = $3, points = $4, max_points = $5, field = $6, operator = $7, value = $8,
         decays = $9, is_active = $10, position = $11, updated_at = now() WHERE id = $1 RETURNING *`,
      [id, next.name, next.group, next.points, next.maxPoints, next.field, next.operator, next.value === null ? null : JSON.stringify(next.value), next.decays, next.isActive, next.position]);
    return presentRule(updated[0]);
  });
}

export async function deleteRule(db: Db, id: string): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM scoring_rules WHERE id = $1', [id]);
  if (!rowCount) throw new AppError('SCORING_RULE_NOT_FOUND', { message: 'Scoring rule not found' });
}

export interface SettingsInput {
  halfLifeDays?: number;
  fastReplyMinutes?: number;
  thresholds?: Array<{ key: string; score: number }>;
  /** Upserts groups (cap null: uncapped). */
  groups?: Array<{ key: string; name?: string; cap: number | null }>;
}

export async function updateScoringSettings(pool: pg.Pool, input: SettingsInput) {
  await withTransaction(pool, async (tx) => {
    await tx.query(
      `UPDATE scoring_settings SET half_life_days = coalesce($1, half_life_days), fast_reply_minutes = coalesce($2, fast_reply_minutes),
         thresholds = coalesce($3, thresholds), updated_at = now()`,
      [input.halfLifeDays ?? null, input.fastReplyMinutes ?? null, input.thresholds ? JSON.stringify([...input.thresholds].sort((a, b) => a.score - b.score)) : null]);
    for (const group of input.groups ?? []) {
      await tx.query(`INSERT INTO scoring_groups (key, name, cap) VALUES ($1, $2, $3)
                      ON CONFLICT (key) DO UPDATE SET name = coalesce($4, scoring_groups.name), cap = EXCLUDED.cap`,
      [group.key, group.name ?? group.key, group.cap, group.name ?? null]);
    }
  });
  return getScoringConfig(pool);
}
