/** Streams the leads matching the list filters as CSV (keyset pages of 1,000 rows). */
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { listFields } from '../fields/fields.repo.ts';
import { csvLine } from '../shared/csv.ts';
import { LEAD_SELECT, type LeadRow } from './leads.repo.ts';
import { leadConditions, type LeadFilters } from './list-leads.ts';

const PAGE = 1000;

export async function* exportLeadsCsv(ctx: AppContext, db: Db, filters: LeadFilters): AsyncGenerator<string> {
  const leadKeys = (await listFields(db, 'lead')).map((d) => d.key);
  const contactKeys = (await listFields(db, 'contact')).map((d) => d.key);
  yield csvLine(['id', 'name', 'phone', 'email', 'stage', 'source', 'owner', 'score', 'tags', 'created_at', ...leadKeys, ...contactKeys.map((k) => `contact.${k}`)]);
  let after: [string, string] | null = null;
  for (;;) {
    const params: unknown[] = [];
    const where = leadConditions(ctx, filters, params);
    if (after) { params.push(after[0], after[1]); where.push(`(l.created_at, l.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`); }
    params.push(PAGE);
    const { rows } = await db.query<LeadRow & { created_text: string; contact_fields: Record<string, unknown> }>(
      `${LEAD_SELECT.replace('SELECT l.*', 'SELECT l.*, l.created_at::text AS created_text, c.custom_fields AS contact_fields')}
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY l.created_at DESC, l.id DESC LIMIT $${params.length}`, params);
    if (rows.length === 0) return;
    let chunk = '';
    for (const r of rows) {
      const text = (value: unknown) => value === undefined || value === null ? '' : Array.isArray(value) ? value.join(';') : typeof value === 'object' ? JSON.stringify(value) : String(value);
      chunk += csvLine([
        r.id, r.contact_name, r.contact_phone, r.contact_email, r.stage, r.source, r.owner, r.score, r.tags.join(';'), r.created_at.toISOString(),
        ...leadKeys.map((k) => text(r.custom_fields[k])), ...contactKeys.map((k) => text(r.contact_fields[k])),
      ]);
    }
    yield chunk;
    if (rows.length < PAGE) return;
    const last = rows.at(-1)!;
    after = [last.created_text, last.id];
  }
}
