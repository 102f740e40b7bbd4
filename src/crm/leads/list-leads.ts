/**
 * Lists leads with their contact: prefix search, filters (stage, pipeline, tag,
 * score range, source, owner, created range), sort and a keyset cursor. Every
 * sort has a matching (value DESC, id DESC) index, so a page costs the same at row 50
 * or 99,950; a search is planned first (shared/search.ts) so that a common term walks
 * that index and a rare one sorts only its matches.
 */
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { addContactSearch, planContactSearch, plannedSearchCondition } from '../shared/search.ts';
import { LEAD_SELECT, presentLead, type LeadRow } from './leads.repo.ts';

export const LEAD_SORTS = {
  created_desc: { expr: 'l.created_at', dir: 'DESC', cast: 'timestamptz' },
  created_asc: { expr: 'l.created_at', dir: 'ASC', cast: 'timestamptz' },
  updated_desc: { expr: 'l.updated_at', dir: 'DESC', cast: 'timestamptz' },
  score_desc: { expr: 'l.score', dir: 'DESC', cast: 'int' },
  score_asc: { expr: 'l.score', dir: 'ASC', cast: 'int' },
} as const;
export type LeadSort = keyof typeof LEAD_SORTS;

export interface LeadFilters {
  q?: string;
  stage?: string;
  pipelineId?: string;
  tag?: string;
  scoreMin?: number;
  scoreMax?: number;
  source?: string;
  owner?: string;
  createdFrom?: string;
  createdTo?: string;
}

export interface ListLeadsOptions extends LeadFilters {
  sort?: LeadSort;
  limit: number;
  cursor?: string;
}

/**
 * WHERE conditions for the filters (shared with the CSV export). The search condition is
 * `searchCondition` when given (a planned search, see shared/search.ts), else the index-served one.
 */
export function leadConditions(ctx: AppContext, filters: LeadFilters, params: unknown[], searchCondition?: string): string[] {
  const where: string[] = [];
  const add = (sql: (n: string) => string, value: unknown) => { params.push(value); where.push(sql(`$${params.length}`)); };
  if (searchCondition) where.push(searchCondition);
  else if (filters.q) addContactSearch(where, params, filters.q, ctx.config.crm.defaultCountryCode);
  if (filters.stage) add((p) => `l.stage = ${p}`, filters.stage);
  if (filters.pipelineId) add((p) => `l.pipeline_id = ${p}`, filters.pipelineId);
  if (filters.tag) add((p) => `l.tags @> ${p}::text[]`, [filters.tag]);
  if (filters.scoreMin !== undefined) add((p) => `l.score >= ${p}`, filters.scoreMin);
  if (filters.scoreMax !== undefined) add((p) => `l.score <= ${p}`, filters.scoreMax);
  if (filters.source) add((p) => `l.source = ${p}`, filters.source);
  if (filters.owner) add((p) => `l.owner = ${p}`, filters.owner);
  if (filters.createdFrom) add((p) => `l.created_at >= ${p}`, filters.createdFrom);
  if (filters.createdTo) add((p) => `l.created_at < ${p}`, filters.createdTo);
  return where;
}

export async function listLeads(ctx: AppContext, db: Db, options: ListLeadsOptions) {
  const sort = LEAD_SORTS[options.sort ?? 'created_desc'];
  const params: unknown[] = [];
  const { defaultCountryCode, searchProbeLimit } = ctx.config.crm;
  const search = options.q
    ? plannedSearchCondition(await planContactSearch(db, options.q, defaultCountryCode, searchProbeLimit), params, 'l.contact_id', defaultCountryCode)
    : undefined;
  const where = leadConditions(ctx, options, params, search);
  if (options.cursor) {
    const [value, id] = decodeCursor(options.cursor, 2);
    params.push(value, id);
    where.push(`(${sort.expr}, l.id) ${sort.dir === 'DESC' ? '<' : '>'} ($${params.length - 1}::${sort.cast}, $${params.length}::uuid)`);
  }
  params.push(options.limit + 1);
  const { rows } = await db.query<LeadRow & { sort_value: string }>(
    `${LEAD_SELECT.replace('SELECT l.*', `SELECT l.*, (${sort.expr})::text AS sort_value`)}
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${sort.expr} ${sort.dir}, l.id ${sort.dir} LIMIT $${params.length}`, params);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    items: page.map(presentLead),
    nextCursor: rows.length > options.limit && last ? encodeCursor([last.sort_value, last.id]) : null,
  };
}
