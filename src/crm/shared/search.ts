/** The SQL fragment for contact search: prefix on any word of the name, on phone digits, on email. */
import { phoneSearchDigits } from './phone.ts';

/** Escapes LIKE wildcards in user input. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/**
 * Appends the search condition on contact alias `c` to `where`, its parameters to `params`.
 * Phone digits also match after the default country code ("98123" finds 9198123…).
 */
export function addContactSearch(where: string[], params: unknown[], query: string, countryCode: string): void {
  const digits = phoneSearchDigits(query);
  if (digits) {
    params.push(`${digits}%`, `${countryCode}${digits.replace(/^0+/, '')}%`);
    where.push(`(c.phone LIKE $${params.length - 1} OR c.phone LIKE $${params.length})`);
    return;
  }
  const text = likeEscape(query.trim().toLowerCase());
  params.push(`${text}%`, `% ${text}%`);
  const a = params.length - 1;
  const b = params.length;
  where.push(`(lower(c.name) LIKE $${a} OR lower(c.name) LIKE $${b} OR lower(c.email) LIKE $${a})`);
}
