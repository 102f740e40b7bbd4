/** "Why is this lead 72?": the current score, its per-rule and per-group breakdown, thresholds and history. */
import type { Db } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';

export async function getLeadScore(db: Db, leadId: string, options: { historyLimit: number }) {
  const { rows } = await db.query<{ score: number; score_breakdown: { rules?: unknown[]; groups?: unknown[] }; score_updated_at: Date | null; thresholds: Array<{ key: string; score: number }> }>(
    'SELECT l.score, l.score_breakdown, l.score_updated_at, s.thresholds FROM leads l, scoring_settings s WHERE l.id = $1', [leadId]);
  if (!rows[0]) throw new AppError('LEAD_NOT_FOUND', { message: 'Lead not found' });
  const history = await db.query<{ score: number; previous: number; reason: string; computed_at: Date; breakdown: unknown }>(
    'SELECT score, previous, reason, computed_at, breakdown FROM lead_score_history WHERE lead_id = $1 ORDER BY computed_at DESC, id DESC LIMIT $2', [leadId, options.historyLimit]);
  const lead = rows[0];
  return {
    leadId,
    score: lead.score,
    computedAt: lead.score_updated_at?.toISOString() ?? null,
    rules: lead.score_breakdown.rules ?? [],
    groups: lead.score_breakdown.groups ?? [],
    thresholds: lead.thresholds.map((t) => ({ ...t, reached: lead.score >= t.score })),
    history: history.rows.map((h) => ({ score: h.score, previous: h.previous, reason: h.reason, computedAt: h.computed_at.toISOString(), breakdown: h.breakdown })),
  };
}
