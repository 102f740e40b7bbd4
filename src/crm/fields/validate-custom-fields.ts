/** Checks custom field values against the client's field definitions. */
import { AppError } from '../../platform/errors.ts';
import { normaliseEmail } from '../shared/email.ts';
import { normalisePhone } from '../shared/phone.ts';
import type { FieldDefinition } from './fields.repo.ts';

export interface CustomFieldProblem { field: string; reason: string }

/** One value: returns the normalised value or a reason it is invalid. */
function checkValue(def: FieldDefinition, value: unknown, countryCode: string): { value?: unknown; reason?: string } {
  switch (def.type) {
    case 'text':
      return typeof value === 'string' && value.length <= 2000 ? { value } : { reason: 'must be text (at most 2000 characters)' };
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && Number.isFinite(n) ? { value: n } : { reason: 'must be a number' };
    }
    case 'boolean':
      if (typeof value === 'boolean') return { value };
      if (typeof value === 'string' && /^(true|false|yes|no|1|0)$/i.test(value)) return { value: /^(true|yes|1)$/i.test(value) };
      return { reason: 'must be true or false' };
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) && !Number.isNaN(Date.parse(value))
        ? { value } : { reason: 'must be a date (YYYY-MM-DD or ISO 8601)' };
    case 'select':
      return typeof value === 'string' && def.options.includes(value) ? { value } : { reason: `must be one of ${def.options.join(', ')}` };
    case 'multiselect': {
      const list = typeof value === 'string' ? value.split(';').map((v) => v.trim()).filter(Boolean) : value;
      return Array.isArray(list) && list.every((v) => typeof v === 'string' && def.options.includes(v))
        ? { value: [...new Set(list as string[])] } : { reason: `must be a list of ${def.options.join(', ')}` };
    }
    case 'email': {
      const email = typeof value === 'string' ? normaliseEmail(value) : null;
      return email ? { value: email } : { reason: 'must be a valid email address' };
    }
    case 'phone': {
      const phone = typeof value === 'string' ? normalisePhone(value, countryCode) : null;
      return phone ? { value: phone } : { reason: 'must be a valid phone number' };
    }
  }
}

/**
 * Validates `values` (merged over `existing` for updates) against `definitions`.
 * Undefined keys are kept as given; `null` removes a key.
 * @returns the values to store, or the list of problems
 */
export function checkCustomFields(definitions: FieldDefinition[], values: Record<string, unknown>, existing: Record<string, unknown>, countryCode: string): { values: Record<string, unknown>; problems: CustomFieldProblem[] } {
  const byKey = new Map(definitions.map((d) => [d.key, d]));
  const result: Record<string, unknown> = { ...existing };
  const problems: CustomFieldProblem[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === '') { delete result[key]; continue; }
    const def = byKey.get(key);
    if (!def) { result[key] = value; continue; }
    const checked = checkValue(def, value, countryCode);
    if (checked.reason) problems.push({ field: key, reason: checked.reason });
    else result[key] = checked.value;
  }
  for (const def of definitions) {
    if (def.required && (result[def.key] === undefined || result[def.key] === null)) problems.push({ field: def.key, reason: 'is required' });
  }
  return { values: result, problems };
}

/** checkCustomFields that throws a 400 naming every problem. */
export function validateCustomFields(definitions: FieldDefinition[], values: Record<string, unknown>, existing: Record<string, unknown>, countryCode: string): Record<string, unknown> {
  const { values: clean, problems } = checkCustomFields(definitions, values, existing, countryCode);
  if (problems.length) {
    throw new AppError('VALIDATION_FAILED', {
      message: `Invalid custom fields: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}`,
      details: { problems },
    });
  }
  return clean;
}
