/** Phone numbers as E.164 digits without '+', the form WhatsApp uses (wa_id). */

/**
 * Normalises a phone number to E.164 digits. `+`/`00` prefixes mark an
 * international number; otherwise a national number (≤ 10 digits, optional
 * trunk 0) gets `defaultCountryCode`.
 * @returns the digits, or null when the input cannot be a phone number
 */
export function normalisePhone(input: string, defaultCountryCode: string): string | null {
  const trimmed = input.trim();
  if (trimmed === '') return null;
  if (/[a-z]/i.test(trimmed.replace(/\s*(ext\.?|x)\s*\d+$/i, ''))) return null;
  let digits = trimmed.replace(/\D/g, '');
  if (trimmed.startsWith('+')) {
    // already international
  } else if (digits.startsWith('00')) {
    digits = digits.slice(2);
  } else if (digits.length <= 11 && defaultCountryCode) {
    digits = defaultCountryCode + digits.replace(/^0+/, '');
  }
  if (!/^[1-9]\d{7,14}$/.test(digits)) return null;
  return digits;
}

/** Digits typed in a search box (for prefix search on phones). */
export function phoneSearchDigits(query: string): string | null {
  const digits = query.replace(/\D/g, '');
  return digits.length >= 3 && /^[+\d\s().-]+$/.test(query.trim()) ? digits : null;
}
