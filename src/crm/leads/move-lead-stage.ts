/**
 * Moves a lead to another stage (optionally of another pipeline): records a
 * `stage_changed` activity and a `lead.stage_changed` domain event in the same
 * transaction, then publishes `lead.updated` to the dashboards.
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { recordDomainEvent } from '../../platform/events.ts';
import { resolvePipelineStage } from './create-lead.ts';
import { findLead, presentLead, updateLeadRow } from './leads.repo.ts';
import { leadNotFound } from './update-lead.ts';

export interface MoveLeadStageOptions {
  stage: string;
  /** Move into another pipeline (default: the lead's own). */
  pipelineId?: string;
  actor: string;
  /** Optional reason kept on the activity. */
  reason?: string;
}

export async function moveLeadStage(ctx: AppContext, pool: pg.Pool, clientId: string, id: string, options: MoveLeadStageOptions) {
  const { lead, changed } = await withTransaction(pool, async (tx) => {
    const existing = await findLead(tx, id, { forUpdate: true });
    if (!existing) throw leadNotFound();
    const placement = await resolvePipelineStage(tx, options.pipelineId ?? existing.pipeline_id ?? undefined, options.stage);
    if (placement.stage === existing.stage && placement.pipelineId === existing.pipeline_id) return { lead: presentLead(existing), changed: false };
    await updateLeadRow(tx, id, placement);
    const data = { from: existing.stage, to: placement.stage, fromPipelineId: existing.pipeline_id, pipelineId: placement.pipelineId, reason: options.reason ?? null };
    await tx.query(`INSERT INTO activities (contact_id, lead_id, type, summary, data, actor) VALUES ($1, $2, 'stage_changed', $3, $4, $5)`,
      [existing.contact_id, id, `Stage ${existing.stage} → ${placement.stage}`, data, options.actor]);
    await recordDomainEvent(tx, 'lead.stage_changed', { leadId: id, contactId: existing.contact_id, ...data });
    return { lead: presentLead((await findLead(tx, id))!), changed: true };
  });
  if (changed) {
    ctx.domainEvents.recorded(clientId);
    ctx.realtime.publish({ clientId, event: 'lead.updated', payload: lead });
  }
  return lead;
}
