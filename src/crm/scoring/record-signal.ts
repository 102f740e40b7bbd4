/**
 * Records a scoring signal that lives nowhere else (a purchase, an enrolment, an
 * email open reported by a client's system …) and rescores the lead.
 */
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { scoreLead } from './score-lead.ts';

export async function recordLeadSignal(ctx: AppContext, db: Db, input: { clientId: string; leadId: string; signal: string; occurredAt?: Date; sourceKey?: string; data?: Record<string, unknown>; now?: Date }) {
  const { rows: lead } = await db.query('SELECT 1 FROM leads WHERE id = $1', [input.leadId]);
  if (!lead[0]) throw new AppError('LEAD_NOT_FOUND', { message: 'Lead not found' });
  const { rowCount } = await db.query(
    `INSERT INTO lead_signals (lead_id, signal, data, occurred_at, source_key) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (signal, source_key) WHERE source_key IS NOT NULL DO NOTHING`,
    [input.leadId, input.signal, input.data ?? {}, input.occurredAt ?? input.now ?? new Date(), input.sourceKey ?? null]);
  const score = await scoreLead(ctx, db, { clientId: input.clientId, leadId: input.leadId, now: input.now, reason: `signal:${input.signal}` });
  return { recorded: (rowCount ?? 0) > 0, ...score };
}
