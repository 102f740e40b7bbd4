/** Shows, updates (owner, source, custom fields, tags) and deletes one lead. */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { listFields } from '../fields/fields.repo.ts';
import { validateCustomFields } from '../fields/validate-custom-fields.ts';
import { normaliseTags } from '../shared/contact-input.ts';
import { deleteLeadRow, findLead, presentLead, updateLeadRow } from './leads.repo.ts';

export function leadNotFound(): AppError {
  return new AppError('LEAD_NOT_FOUND', { message: 'Lead not found' });
}

export async function showLead(db: Db, id: string) {
  const row = await findLead(db, id);
  if (!row) throw leadNotFound();
  return presentLead(row);
}

export interface UpdateLeadOptions {
  source?: string;
  owner?: string | null;
  /** Merged into the stored values; `null` removes a key. */
  customFields?: Record<string, unknown>;
  tags?: string[];
}

export async function updateLead(ctx: AppContext, pool: pg.Pool, clientId: string, id: string, input: UpdateLeadOptions) {
  const lead = await withTransaction(pool, async (tx) => {
    const existing = await findLead(tx, id, { forUpdate: true });
    if (!existing) throw leadNotFound();
    const customFields = input.customFields === undefined ? undefined
      : validateCustomFields(await listFields(tx, 'lead'), input.customFields, existing.custom_fields, ctx.config.crm.defaultCountryCode);
    await updateLeadRow(tx, id, { source: input.source, owner: input.owner, customFields, tags: input.tags && normaliseTags(input.tags) });
    return presentLead((await findLead(tx, id))!);
  });
  ctx.realtime.publish({ clientId, event: 'lead.updated', payload: lead });
  return lead;
}

/** Deletes the lead (its contact stays). */
export async function deleteLead(ctx: AppContext, db: Db, clientId: string, id: string): Promise<void> {
  if (!(await deleteLeadRow(db, id))) throw leadNotFound();
  ctx.realtime.publish({ clientId, event: 'lead.deleted', payload: { id } });
}
