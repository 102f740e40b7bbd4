/** Normalises the contact part of a write (phone, email, tags, time zone) or names what is wrong. */
import { AppError } from '../../platform/errors.ts';
import { normaliseEmail } from './email.ts';
import { normalisePhone } from './phone.ts';

export interface ContactInput {
  name?: string | null;
  phone?: string | null;
  email?: string | null;
  timezone?: string | null;
  tags?: string[];
}

/** True when `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Unique, trimmed, non-empty tags. */
export function normaliseTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
}

/** @returns the normalised fields and a list of problems (empty when valid) */
export function checkContactInput(input: ContactInput, countryCode: string): { value: ContactInput; problems: string[] } {
  const value: ContactInput = {};
  const problems: string[] = [];
  if (input.name !== undefined) value.name = input.name === null ? null : input.name.trim() || null;
  if (input.phone !== undefined) {
    if (input.phone === null || input.phone.trim() === '') value.phone = null;
    else {
      const phone = normalisePhone(input.phone, countryCode);
      if (phone) value.phone = phone;
      else problems.push(`phone ${JSON.stringify(input.phone)} is not a valid phone number`);
    }
  }
  if (input.email !== undefined) {
    if (input.email === null || input.email.trim() === '') value.email = null;
    else {
      const email = normaliseEmail(input.email);
      if (email) value.email = email;
      else problems.push(`email ${JSON.stringify(input.email)} is not a valid email address`);
    }
  }
  if (input.timezone !== undefined) {
    if (input.timezone === null) value.timezone = null;
    else if (isTimeZone(input.timezone)) value.timezone = input.timezone;
    else problems.push(`timezone ${JSON.stringify(input.timezone)} is not an IANA time zone`);
  }
  if (input.tags !== undefined) value.tags = normaliseTags(input.tags);
  return { value, problems };
}

/** checkContactInput that throws a 400. */
export function normaliseContactInput(input: ContactInput, countryCode: string): ContactInput {
  const { value, problems } = checkContactInput(input, countryCode);
  if (problems.length) throw new AppError('VALIDATION_FAILED', { message: problems.join('; ') });
  return value;
}
