/**
 * Creates a lead for an existing contact (`contactId`) or a new one (`contact`),
 * in the default pipeline's first stage unless told otherwise; records an
 * activity and a `lead_captured` domain event, and tells the dashboards.
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { recordDomainEvent } from '../../platform/events.ts';
import { findContact } from '../contacts/contacts.repo.ts';
import { insertCheckedContact, type CreateContactOptions } from '../contacts/create-contact.ts';
import { contactNotFound } from '../contacts/update-contact.ts';
import { listFields } from '../fields/fields.repo.ts';
import { validateCustomFields } from '../fields/validate-custom-fields.ts';
import { normaliseTags } from '../shared/contact-input.ts';
import { findDefaultPipeline, findPipeline, findStage, listStages } from '../pipelines/pipelines.repo.ts';
import { findLead, findLeadByContact, insertLead, presentLead, type LeadWrite } from './leads.repo.ts';

/** A lead's fields, plus the contact it belongs to (an existing id, or a new contact). */
export interface CreateLeadOptions extends LeadWrite {
  contactId?: string;
  contact?: CreateContactOptions;
}

/** Resolves pipeline and stage (default pipeline, its first stage) or throws a 4xx. */
export async function resolvePipelineStage(db: Db, pipelineId: string | undefined, stage: string | undefined): Promise<{ pipelineId: string; stage: string }> {
  const pipeline = pipelineId ? await findPipeline(db, pipelineId) : await findDefaultPipeline(db);
  if (!pipeline) throw new AppError('PIPELINE_NOT_FOUND', { message: pipelineId ? 'Pipeline not found' : 'No pipeline exists' });
  if (stage) {
    if (!(await findStage(db, pipeline.id, stage))) throw new AppError('STAGE_NOT_FOUND', { message: `Stage ${stage} does not exist in pipeline ${pipeline.name}` });
    return { pipelineId: pipeline.id, stage };
  }
  const stages = await listStages(db, [pipeline.id]);
  if (!stages[0]) throw new AppError('STAGE_NOT_FOUND', { message: `Pipeline ${pipeline.name} has no stages` });
  return { pipelineId: pipeline.id, stage: stages[0].key };
}

/** The insert part, inside a transaction (also used by the CSV import). */
export async function insertCheckedLead(ctx: AppContext, tx: pg.PoolClient, input: CreateLeadOptions, actor: string): Promise<string> {
  if (!input.contactId === !input.contact) throw new AppError('VALIDATION_FAILED', { message: 'Give either contactId or contact' });
  let contactId = input.contactId;
  if (contactId) {
    if (!(await findContact(tx, contactId))) throw contactNotFound();
    if (await findLeadByContact(tx, contactId)) throw new AppError('CONFLICT', { message: 'This contact already has a lead' });
  } else {
    contactId = (await insertCheckedContact(ctx, tx, input.contact!)).id;
  }
  const placement = await resolvePipelineStage(tx, input.pipelineId, input.stage);
  const customFields = validateCustomFields(await listFields(tx, 'lead'), input.customFields ?? {}, {}, ctx.config.crm.defaultCountryCode);
  const write: LeadWrite & { pipelineId: string; stage: string } = {
    ...placement, source: input.source, sourceDetails: input.sourceDetails, owner: input.owner, customFields, tags: normaliseTags(input.tags ?? []),
  };
  const leadId = await insertLead(tx, contactId, write);
  await tx.query(`INSERT INTO activities (contact_id, lead_id, type, summary, data, actor) VALUES ($1, $2, 'lead_created', $3, $4, $5)`,
    [contactId, leadId, `Lead created (${write.source ?? 'manual'})`, { stage: placement.stage }, actor]);
  return leadId;
}

export async function createLead(ctx: AppContext, pool: pg.Pool, clientId: string, input: CreateLeadOptions, actor = 'api') {
  const lead = await withTransaction(pool, async (tx) => {
    const id = await insertCheckedLead(ctx, tx, input, actor);
    const row = (await findLead(tx, id))!;
    await recordDomainEvent(tx, 'lead_captured', { leadId: id, contactId: row.contact_id, phone: row.contact_phone, source: row.source });
    return presentLead(row);
  });
  ctx.domainEvents.recorded(clientId);
  ctx.realtime.publish({ clientId, event: 'lead.created', payload: lead });
  return lead;
}
