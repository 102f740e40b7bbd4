/**
 * `update_lead`: moves the lead to a stage and/or adds and removes tags. The
 * lead is the one named by `leadId` (earlier action vars or the event), else
 * the newest lead of the trigger's phone. Setting the same values twice is harmless.
 */
import { Type } from 'typebox';
import { AppError } from '../../platform/errors.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import type { ActionDefinition } from './registry.ts';
import { applyLeadUpdate, findLeadId } from './leads.repo.ts';

const ConfigSchema = Type.Object({
  stage: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
  removeTags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
}, { additionalProperties: false });

export const updateLeadAction: ActionDefinition = {
  type: 'update_lead',
  configSchema: ConfigSchema,
  async execute(input, config: { stage?: string; tags?: string[]; removeTags?: string[] }) {
    const metaLeadId = typeof input.callbackMetadata?.leadId === 'string' ? input.callbackMetadata.leadId : undefined;
    const leadId = await findLeadId(input.db, { leadId: input.vars.leadId ?? metaLeadId, phone: input.phone });
    if (!leadId) throw new AppError('NOT_FOUND', { message: 'No lead found for this automation run' });
    const lead = await withTransaction(input.db, (tx) => applyLeadUpdate(tx, leadId, { stage: config.stage, addTags: config.tags ?? [], removeTags: config.removeTags ?? [] }, `Automation updated the lead (${input.trigger})`));
    if (!lead) throw new AppError('NOT_FOUND', { message: 'No lead found for this automation run' });
    input.ctx.realtime.publish({ clientId: input.clientId, event: 'lead.updated', payload: { id: lead.id, stage: lead.stage, tags: lead.tags } });
    return { output: { leadId: lead.id, stage: lead.stage, tags: lead.tags }, vars: { leadId: lead.id } };
  },
};
