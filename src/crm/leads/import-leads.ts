/**
 * Streams a CSV of leads into the CRM. The header names the columns: name,
 * phone, email, timezone, stage, source, owner, tags (separated by `;`),
 * `contact.<key>` for contact custom fields, and any other column for a lead
 * custom field. Each row is validated on its own (phone, email, stage, custom
 * field definitions, duplicates in the database and earlier in the file); good
 * rows are inserted set-wise per batch, bad ones listed with their reasons.
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { listFields } from '../fields/fields.repo.ts';
import { checkCustomFields } from '../fields/validate-custom-fields.ts';
import { checkContactInput } from '../shared/contact-input.ts';
import { CsvReader } from '../shared/csv.ts';
import { findDefaultPipeline, findPipeline, listStages } from '../pipelines/pipelines.repo.ts';

const BATCH = 500;
/** Rejections listed in full in the report (the count is always exact). */
const MAX_LISTED_REJECTIONS = 1000;
const KNOWN = new Set(['name', 'phone', 'email', 'timezone', 'stage', 'source', 'owner', 'tags']);

export interface ImportRejection { row: number; line: number; reasons: string[] }
export interface ImportReport { rows: number; imported: number; rejected: number; rejections: ImportRejection[]; dryRun: boolean }

interface GoodRow {
  name: string | null; phone: string | null; email: string | null; timezone: string | null;
  stage: string; source: string; owner: string | null; tags: string[];
  contactFields: Record<string, unknown>; leadFields: Record<string, unknown>;
}

export interface ImportLeadsOptions {
  pipelineId?: string;
  dryRun?: boolean;
  actor: string;
}

export async function importLeads(ctx: AppContext, pool: pg.Pool, clientId: string, input: AsyncIterable<Buffer | string>, options: ImportLeadsOptions): Promise<ImportReport> {
  const countryCode = ctx.config.crm.defaultCountryCode;
  const pipeline = options.pipelineId ? await findPipeline(pool, options.pipelineId) : await findDefaultPipeline(pool);
  if (!pipeline) throw new AppError('PIPELINE_NOT_FOUND', { message: 'Pipeline not found' });
  const stages = await listStages(pool, [pipeline.id]);
  const stageKeys = new Set(stages.map((s) => s.key));
  const contactDefs = await listFields(pool, 'contact');
  const leadDefs = await listFields(pool, 'lead');
  const contactDefKeys = new Set(contactDefs.map((d) => d.key));
  const leadDefKeys = new Set(leadDefs.map((d) => d.key));

  const report: ImportReport = { rows: 0, imported: 0, rejected: 0, rejections: [], dryRun: Boolean(options.dryRun) };
  const seenPhones = new Set<string>();
  const seenEmails = new Set<string>();
  let header: string[] | null = null;
  let batch: Array<{ row: number; line: number; value: GoodRow }> = [];

  const reject = (row: number, line: number, reasons: string[]) => {
    report.rejected++;
    if (report.rejections.length < MAX_LISTED_REJECTIONS) report.rejections.push({ row, line, reasons });
  };

  const flush = async () => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    await withTransaction(pool, async (tx) => {
      // Duplicates against what is already stored.
      const phones = current.map((r) => r.value.phone).filter((p): p is string => Boolean(p));
      const emails = current.map((r) => r.value.email).filter((e): e is string => Boolean(e));
      const { rows: existing } = await tx.query<{ phone: string | null; email: string | null }>(
        'SELECT phone, lower(email) AS email FROM contacts WHERE phone = ANY($1) OR lower(email) = ANY($2)', [phones, emails]);
      const takenPhones = new Set(existing.map((e) => e.phone));
      const takenEmails = new Set(existing.map((e) => e.email));
      const good = current.filter((r) => {
        const reasons: string[] = [];
        if (r.value.phone && takenPhones.has(r.value.phone)) reasons.push(`duplicate: a contact with phone ${r.value.phone} already exists`);
        if (r.value.email && takenEmails.has(r.value.email)) reasons.push(`duplicate: a contact with email ${r.value.email} already exists`);
        if (reasons.length) reject(r.row, r.line, reasons);
        return reasons.length === 0;
      });
      if (good.length === 0 || options.dryRun) { report.imported += options.dryRun ? good.length : 0; return; }
      const v = good.map((g) => g.value);
      const { rows: contacts } = await tx.query<{ id: string; ord: string }>(
        `INSERT INTO contacts (name, phone, email, timezone, custom_fields, tags)
         SELECT name, phone, email, tz, cf, '{}' FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS t(name, phone, email, tz, cf, ord)
         ORDER BY ord RETURNING id`,
        [v.map((x) => x.name), v.map((x) => x.phone), v.map((x) => x.email), v.map((x) => x.timezone), v.map((x) => JSON.stringify(x.contactFields))]);
      const { rows: leads } = await tx.query<{ id: string; contact_id: string }>(
        `INSERT INTO leads (contact_id, pipeline_id, stage, source, owner, custom_fields, tags)
         SELECT cid, $2, stage, source, owner, cf, ARRAY(SELECT jsonb_array_elements_text(tags))
         FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[]) AS t(cid, stage, source, owner, cf, tags)
         RETURNING id, contact_id`,
        [contacts.map((c) => c.id), pipeline.id, v.map((x) => x.stage), v.map((x) => x.source), v.map((x) => x.owner),
          v.map((x) => JSON.stringify(x.leadFields)), v.map((x) => JSON.stringify(x.tags))]);
      await tx.query(
        `INSERT INTO activities (contact_id, lead_id, type, summary, data, actor)
         SELECT contact_id, id, 'lead_created', 'Lead imported from CSV', '{"source":"import"}', $3 FROM unnest($1::uuid[], $2::uuid[]) AS t(id, contact_id)`,
        [leads.map((l) => l.id), leads.map((l) => l.contact_id), options.actor]);
      report.imported += good.length;
    });
  };

  const handle = (cells: string[], line: number) => {
    if (!header) {
      header = cells.map((c) => c.trim().replace(/^\uFEFF/, '').toLowerCase());
      if (!header.includes('phone') && !header.includes('email') && !header.includes('name')) {
        throw new AppError('VALIDATION_FAILED', { message: 'The CSV header must name at least one of the columns name, phone, email' });
      }
      return;
    }
    if (cells.length === 1 && cells[0].trim() === '') return; // blank line
    report.rows++;
    if (report.rows > ctx.config.crm.importMaxRows) throw new AppError('PAYLOAD_TOO_LARGE', { message: `A CSV import may hold at most ${ctx.config.crm.importMaxRows} rows` });
    const rowNumber = report.rows;
    const reasons: string[] = [];
    if (cells.length !== header.length) reasons.push(`has ${cells.length} columns, the header has ${header.length}`);
    const get = (name: string) => {
      const i = header!.indexOf(name);
      const value = i >= 0 ? cells[i]?.trim() : undefined;
      return value === '' ? undefined : value;
    };
    const contact = checkContactInput({ name: get('name'), phone: get('phone'), email: get('email'), timezone: get('timezone') }, countryCode);
    reasons.push(...contact.problems);
    if (!contact.value.phone && !contact.value.email && !contact.value.name) reasons.push('needs a name, phone or email');
    const stage = get('stage') ?? stages[0]?.key;
    if (!stage || !stageKeys.has(stage)) reasons.push(`stage ${JSON.stringify(stage)} does not exist (one of ${[...stageKeys].join(', ')})`);
    const contactFields: Record<string, unknown> = {};
    const leadFields: Record<string, unknown> = {};
    header.forEach((column, i) => {
      const value = cells[i]?.trim();
      if (KNOWN.has(column) || value === undefined || value === '') return;
      if (column.startsWith('contact.')) contactFields[column.slice(8)] = value;
      else if (column.startsWith('lead.')) leadFields[column.slice(5)] = value;
      else if (!leadDefKeys.has(column) && contactDefKeys.has(column)) contactFields[column] = value;
      else leadFields[column] = value;
    });
    const cf = checkCustomFields(contactDefs, contactFields, {}, countryCode);
    const lf = checkCustomFields(leadDefs, leadFields, {}, countryCode);
    reasons.push(...[...cf.problems, ...lf.problems].map((p) => `custom field ${p.field} ${p.reason}`));
    const phone = contact.value.phone ?? null;
    const email = contact.value.email ?? null;
    if (phone && seenPhones.has(phone)) reasons.push(`duplicate: phone ${phone} appears earlier in the file`);
    if (email && seenEmails.has(email)) reasons.push(`duplicate: email ${email} appears earlier in the file`);
    if (reasons.length) { reject(rowNumber, line, reasons); return; }
    if (phone) seenPhones.add(phone);
    if (email) seenEmails.add(email);
    batch.push({
      row: rowNumber, line,
      value: {
        name: contact.value.name ?? null, phone, email, timezone: contact.value.timezone ?? null, stage: stage!,
        source: get('source') ?? 'import', owner: get('owner') ?? null,
        tags: [...new Set((get('tags') ?? '').split(';').map((t) => t.trim()).filter(Boolean))],
        contactFields: cf.values, leadFields: lf.values,
      },
    });
  };

  const reader = new CsvReader();
  const decoder = new TextDecoder('utf-8');
  const take = async (rows: string[][], lines: number[]) => {
    for (let i = 0; i < rows.length; i++) {
      handle(rows[i], lines[i]);
      if (batch.length >= BATCH) await flush();
    }
  };
  try {
    for await (const chunk of input) {
      const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      // Line numbers: CsvReader tracks where each record started; collect them as rows complete.
      const lines: number[] = [];
      const rows: string[][] = [];
      for (const row of pushTracking(reader, text, lines)) rows.push(row);
      await take(rows, lines);
    }
    const tail = decoder.decode();
    const lines: number[] = [];
    const rows = pushTracking(reader, tail, lines);
    const startLine = reader.recordLine;
    const last = reader.end();
    await take([...rows, ...last], [...lines, ...last.map(() => startLine)]);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('VALIDATION_FAILED', { message: `Malformed CSV: ${(err as Error).message}` });
  }
  if (!header) throw new AppError('VALIDATION_FAILED', { message: 'The CSV is empty (a header row is required)' });
  await flush();
  report.rejections.sort((a, b) => a.row - b.row);
  if (report.imported > 0 && !options.dryRun) ctx.realtime.publish({ clientId, event: 'leads.imported', payload: { imported: report.imported } });
  return report;
}

/** Pushes `text` and records the starting line of each completed record. */
function pushTracking(reader: CsvReader, text: string, lines: number[]): string[][] {
  const rows: string[][] = [];
  // Feed line by line so recordLine is known for every row completed.
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl === -1 ? text.length : nl + 1;
    const before = reader.recordLine;
    const done = reader.push(text.slice(start, end));
    if (done.length) { lines.push(before); rows.push(...done); }
    start = end;
  }
  return rows;
}
