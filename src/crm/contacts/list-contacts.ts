/** Lists contacts: prefix search (planned, see shared/search.ts), tag and created-range filters, sort, keyset cursor. */
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { planContactSearch, plannedSearchCondition } from '../shared/search.ts';
import { presentContact, type ContactRow } from './contacts.repo.ts';

export interface ListContactsOptions {
  q?: string;
  tag?: string;
  createdFrom?: string;
  createdTo?: string;
  sort?: 'created_desc' | 'created_asc' | 'name_asc' | 'updated_desc';
  limit: number;
  cursor?: string;
}

const SORTS = {
  created_desc: { expr: 'c.created_at', dir: 'DESC', cast: 'timestamptz' },
  created_asc: { expr: 'c.created_at', dir: 'ASC', cast: 'timestamptz' },
  updated_desc: { expr: 'c.updated_at', dir: 'DESC', cast: 'timestamptz' },
  name_asc: { expr: "lower(coalesce(c.name, ''))", dir: 'ASC', cast: 'text' },
} as const;

export async function listContacts(ctx: AppContext, db: Db, options: ListContactsOptions) {
  const sort = SORTS[options.sort ?? 'created_desc'];
  const where: string[] = [];
  const params: unknown[] = [];
  if (options.q) {
    const { defaultCountryCode, searchProbeLimit } = ctx.config.crm;
    where.push(plannedSearchCondition(await planContactSearch(db, options.q, defaultCountryCode, searchProbeLimit), params, 'c.id', defaultCountryCode));
  }
  if (options.tag) { params.push([options.tag]); where.push(`c.tags @> $${params.length}::text[]`); }
  if (options.createdFrom) { params.push(options.createdFrom); where.push(`c.created_at >= $${params.length}`); }
  if (options.createdTo) { params.push(options.createdTo); where.push(`c.created_at < $${params.length}`); }
  if (options.cursor) {
    const [value, id] = decodeCursor(options.cursor, 2);
    params.push(value, id);
    // Sort values travel as PostgreSQL text so timestamps keep their microseconds.
    where.push(`(${sort.expr}, c.id) ${sort.dir === 'DESC' ? '<' : '>'} ($${params.length - 1}::${sort.cast}, $${params.length}::uuid)`);
  }
  params.push(options.limit + 1);
  const { rows } = await db.query<ContactRow & { sort_value: string }>(
    `SELECT c.*, (${sort.expr})::text AS sort_value FROM contacts c ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${sort.expr} ${sort.dir}, c.id ${sort.dir} LIMIT $${params.length}`, params);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    items: page.map(presentContact),
    nextCursor: rows.length > options.limit && last ? encodeCursor([last.sort_value, last.id]) : null,
  };
}
