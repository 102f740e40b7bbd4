/** Recomputes one lead's score now (API, CLI and event subscribers). */
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { recalculateScores } from './recalculate-scores.ts';

export interface ScoreLeadOptions {
  clientId: string;
  leadId: string;
  now?: Date;
  reason: string;
}

export async function scoreLead(ctx: AppContext, db: Db, options: ScoreLeadOptions) {
  const result = await recalculateScores(db, { leadIds: [options.leadId] }, { now: options.now ?? new Date(), reason: options.reason });
  if (result.processed === 0) throw new AppError('LEAD_NOT_FOUND', { message: 'Lead not found' });
  if (result.crossed > 0) ctx.domainEvents.recorded(options.clientId);
  const { rows } = await db.query<{ score: number; score_breakdown: unknown; score_updated_at: Date }>(
    'SELECT score, score_breakdown, score_updated_at FROM leads WHERE id = $1', [options.leadId]);
  const change = result.changed[0];
  const view = {
    leadId: options.leadId,
    score: rows[0].score,
    previous: change ? change.previous : rows[0].score,
    changed: Boolean(change),
    breakdown: rows[0].score_breakdown,
    computedAt: rows[0].score_updated_at.toISOString(),
  };
  if (change) ctx.realtime.publish({ clientId: options.clientId, event: 'lead.scored', payload: { leadId: view.leadId, score: view.score, previous: view.previous } });
  return view;
}
