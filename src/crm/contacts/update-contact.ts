/** Updates, shows and deletes one contact. */
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import type pg from 'pg';
import { listFields } from '../fields/fields.repo.ts';
import { validateCustomFields } from '../fields/validate-custom-fields.ts';
import { normaliseContactInput, type ContactInput } from '../shared/contact-input.ts';
import { deleteContactRow, findContact, findMatchingContacts, presentContact, updateContactRow } from './contacts.repo.ts';

export function contactNotFound(): AppError {
  return new AppError('CONTACT_NOT_FOUND', { message: 'Contact not found' });
}

export async function showContact(db: Db, id: string) {
  const row = await findContact(db, id);
  if (!row) throw contactNotFound();
  return presentContact(row);
}

export interface UpdateContactOptions extends ContactInput {
  /** Merged into the stored values; `null` removes a key. */
  customFields?: Record<string, unknown>;
  allowDuplicate?: boolean;
}

export async function updateContact(ctx: AppContext, pool: pg.Pool, id: string, input: UpdateContactOptions) {
  return withTransaction(pool, async (tx) => {
    const existing = await findContact(tx, id, { forUpdate: true });
    if (!existing) throw contactNotFound();
    const contact = normaliseContactInput(input, ctx.config.crm.defaultCountryCode);
    let customFields: Record<string, unknown> | undefined;
    if (input.customFields !== undefined) {
      customFields = validateCustomFields(await listFields(tx, 'contact'), input.customFields, existing.custom_fields, ctx.config.crm.defaultCountryCode);
    }
    if (!input.allowDuplicate && (contact.phone || contact.email)) {
      const matches = await findMatchingContacts(tx, contact.phone ?? null, contact.email ?? null, id);
      if (matches.length) throw new AppError('DUPLICATE_CONTACT', { message: 'Another contact has this phone or email', details: { existingId: matches[0].id } });
    }
    return presentContact(await updateContactRow(tx, id, { ...contact, customFields }));
  });
}

/** Deletes the contact with its lead, activities, conversations and appointments. */
export async function deleteContact(db: Db, id: string): Promise<void> {
  if (!(await deleteContactRow(db, id))) throw contactNotFound();
}
