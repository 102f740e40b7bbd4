/** Creates a contact after normalising phone/email and validating custom fields. */
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { listFields } from '../fields/fields.repo.ts';
import { validateCustomFields } from '../fields/validate-custom-fields.ts';
import { normaliseContactInput, type ContactInput } from '../shared/contact-input.ts';
import { findMatchingContacts, insertContact, presentContact, type ContactRow } from './contacts.repo.ts';

export interface CreateContactOptions extends ContactInput {
  customFields?: Record<string, unknown>;
  /** Create even when another contact has the same phone or email (default: 409). */
  allowDuplicate?: boolean;
}

/** Normalises, checks duplicates and inserts (inside `db`, which may be a transaction). */
export async function insertCheckedContact(ctx: AppContext, db: Db, input: CreateContactOptions): Promise<ContactRow> {
  const contact = normaliseContactInput(input, ctx.config.crm.defaultCountryCode);
  if (!contact.phone && !contact.email && !contact.name) throw new AppError('VALIDATION_FAILED', { message: 'A contact needs at least a name, phone or email' });
  const customFields = validateCustomFields(await listFields(db, 'contact'), input.customFields ?? {}, {}, ctx.config.crm.defaultCountryCode);
  if (!input.allowDuplicate) {
    const matches = await findMatchingContacts(db, contact.phone ?? null, contact.email ?? null);
    if (matches.length) {
      throw new AppError('DUPLICATE_CONTACT', {
        message: `A contact with this ${matches[0].phone && matches[0].phone === contact.phone ? 'phone' : 'email'} already exists`,
        details: { existingId: matches[0].id },
      });
    }
  }
  return insertContact(db, { ...contact, customFields });
}

export async function createContact(ctx: AppContext, db: Db, input: CreateContactOptions) {
  return presentContact(await insertCheckedContact(ctx, db, input));
}
