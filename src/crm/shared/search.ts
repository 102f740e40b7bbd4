/**
 * Contact search: prefix on any word of the name, on phone digits, on email.
 *
 * A list page sorted by a lead or contact column can be found two ways: collect
 * every matching contact through the search indexes (trigram, prefix) and sort
 * them, which costs one row per match; or walk the sort index and test each
 * row, which costs about `limit / share of rows matching` rows. The planner
 * cannot tell which is cheaper because it cannot estimate word matches, so
 * `planContactSearch` first asks the search indexes for at most
 * `probeLimit` matches: when there are fewer, the page is chosen among exactly
 * those ids; when there are more, the term is common and the page walks the
 * sort index with a condition no search index can serve.
 */
import type { Db } from '../../platform/db/pool.ts';
import { phoneSearchDigits } from './phone.ts';

/** Escapes LIKE wildcards in user input. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/** How a search is applied to the list query. */
export type ContactSearch =
  /** Fewer than the probe limit matched: these contact ids, exactly. */
  | { contactIds: string[] }
  /** Many matched: filter while walking the sort index. */
  | { walk: string };

/**
 * The search condition on contact alias `c`, its parameters appended to `params`.
 * Phone digits also match after the default country code ("98123" finds 9198123…).
 * `indexed`: written so the search indexes serve it (collecting matches); otherwise
 * written so none does (the sort index is walked and each row tested). Same rows either way.
 */
export function contactSearchCondition(params: unknown[], query: string, countryCode: string, indexed = true): string {
  const digits = phoneSearchDigits(query);
  const col = (expr: string) => (indexed ? expr : `coalesce(${expr}, '')`);
  if (digits) {
    params.push(`${digits}%`, `${countryCode}${digits.replace(/^0+/, '')}%`);
    return `(${col('c.phone')} LIKE $${params.length - 1} OR ${col('c.phone')} LIKE $${params.length})`;
  }
  const text = likeEscape(query.trim().toLowerCase());
  params.push(`${text}%`, `% ${text}%`);
  const a = params.length - 1;
  const b = params.length;
  return `(${col('lower(c.name)')} LIKE $${a} OR ${col('lower(c.name)')} LIKE $${b} OR ${col('lower(c.email)')} LIKE $${a})`;
}

/** Appends the (index-served) search condition on contact alias `c` to `where`. */
export function addContactSearch(where: string[], params: unknown[], query: string, countryCode: string): void {
  where.push(contactSearchCondition(params, query, countryCode));
}

/**
 * Probes the search indexes for up to `probeLimit` matching contacts; see the module comment.
 * Each alternative is its own bounded index scan, read one after the other until the limit:
 * prefixes in their index order (`USING ~<~` is the order of the text_pattern_ops indexes), name
 * words through the trigram index. One OR'ed query would let the planner pick a sequential scan
 * that reads most of the table for a common term.
 */
export async function planContactSearch(db: Db, query: string, countryCode: string, probeLimit: number): Promise<ContactSearch> {
  const digits = phoneSearchDigits(query);
  let params: unknown[];
  let branches: string[];
  if (digits) {
    params = [probeLimit + 1, `${digits}%`, `${countryCode}${digits.replace(/^0+/, '')}%`];
    branches = ['$2', '$3'].map((p) => `SELECT c.id FROM contacts c WHERE c.phone LIKE ${p} ORDER BY c.phone USING ~<~ LIMIT $1`);
  } else {
    const text = likeEscape(query.trim().toLowerCase());
    params = [probeLimit + 1, `${text}%`, `% ${text}%`];
    branches = [
      'SELECT c.id FROM contacts c WHERE lower(c.name) LIKE $2 ORDER BY lower(c.name) USING ~<~ LIMIT $1',
      'SELECT c.id FROM contacts c WHERE lower(c.name) LIKE $3 LIMIT $1',
      'SELECT c.id FROM contacts c WHERE lower(c.email) LIKE $2 ORDER BY lower(c.email) USING ~<~ LIMIT $1',
    ];
  }
  // UNION ALL stops at the first probeLimit + 1 rows; a contact matching twice counts twice, which can
  // only make a borderline term walk (same results), and a complete set is deduplicated here.
  const { rows } = await db.query<{ id: string }>(`${branches.map((b) => `(${b})`).join(' UNION ALL ')} LIMIT $1`, params);
  if (rows.length <= probeLimit) return { contactIds: [...new Set(rows.map((r) => r.id))] };
  return { walk: query };
}

/** The condition for a planned search: `idColumn` (`c.id` or `l.contact_id`) among the ids, or the walking condition. */
export function plannedSearchCondition(plan: ContactSearch, params: unknown[], idColumn: string, countryCode: string): string {
  if ('contactIds' in plan) {
    params.push(plan.contactIds);
    return `${idColumn} = ANY($${params.length}::uuid[])`;
  }
  return contactSearchCondition(params, plan.walk, countryCode, false);
}
