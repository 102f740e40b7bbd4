/**
 * The timeline of a lead or contact: messages, activities (stage changes,
 * notes, merges, SLA flags …), appointments, score changes, automation runs and
 * campaign emails, newest first, in keyset pages.
 */
import type { Db } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { hasTable } from '../shared/optional-tables.ts';

export interface TimelineOptions { limit: number; cursor?: string; types?: string[] }

interface Item { ts: string; key: string; type: string; id: string; summary: string; data: Record<string, unknown>; actor: string | null }

async function timeline(db: Db, contactId: string, leadId: string | null, phone: string | null, email: string | null, options: TimelineOptions) {
  const params: unknown[] = [contactId, leadId, phone, email];
  const branches = [
    `SELECT m.created_at AS ts, 'message' AS type, m.id::text AS id,
            initcap(m.direction) || ' ' || m.type || coalesce(': ' || left(m.text, 200), '') AS summary,
            jsonb_build_object('direction', m.direction, 'messageType', m.type, 'text', m.text, 'status', m.status, 'conversationId', m.conversation_id) AS data,
            m.sent_by AS actor
       FROM messages m WHERE m.contact_id = $1`,
    `SELECT a.occurred_at, a.type, a.id::text, a.summary, a.data, a.actor FROM activities a WHERE a.lead_id = $2
     UNION ALL
     SELECT a.occurred_at, a.type, a.id::text, a.summary, a.data, a.actor FROM activities a WHERE a.contact_id = $1 AND ($2::uuid IS NULL OR a.lead_id IS DISTINCT FROM $2::uuid)`,
    `SELECT ap.created_at, 'appointment', ap.id::text, ap.title || ' (' || ap.status || ') at ' || to_char(ap.starts_at AT TIME ZONE ap.timezone, 'YYYY-MM-DD HH24:MI') || ' ' || ap.timezone,
            jsonb_build_object('status', ap.status, 'startsAt', ap.starts_at, 'endsAt', ap.ends_at, 'timezone', ap.timezone, 'location', ap.location, 'meetingUrl', ap.meeting_url), NULL
       FROM appointments ap WHERE ap.contact_id = $1`,
    `SELECT h.computed_at, 'score_changed', h.id::text, 'Score ' || h.previous || ' → ' || h.score || ' (' || h.reason || ')',
            jsonb_build_object('score', h.score, 'previous', h.previous, 'reason', h.reason, 'breakdown', h.breakdown), NULL
       FROM lead_score_history h WHERE h.lead_id = $2`,
  ];
  if (await hasTable(db, 'workflow_jobs')) {
    branches.push(`SELECT coalesce(w.finished_at, w.created_at), 'automation', w.id::text, w.workflow_name || ': ' || w.action_type || ' ' || w.status,
            jsonb_build_object('trigger', w.trigger, 'status', w.status, 'runAt', w.run_at, 'workflow', w.workflow_name, 'error', w.last_error), NULL
       FROM workflow_jobs w WHERE $3::text IS NOT NULL AND w.phone = $3`);
  }
  if (await hasTable(db, 'email_recipients')) {
    branches.push(`SELECT coalesce(r.clicked_at, r.opened_at, r.sent_at, r.updated_at), 'campaign', r.id::text, 'Campaign email ' || r.status
              || CASE WHEN r.clicked_at IS NOT NULL THEN ', clicked' WHEN r.opened_at IS NOT NULL THEN ', opened' ELSE '' END,
            jsonb_build_object('campaignId', r.campaign_id, 'status', r.status, 'sentAt', r.sent_at, 'openedAt', r.opened_at, 'clickedAt', r.clicked_at), NULL
       FROM email_recipients r WHERE r.contact_id = $1 OR ($4::text IS NOT NULL AND r.email = $4)`);
  }
  const where: string[] = [];
  if (options.types?.length) { params.push(options.types); where.push(`t.type = ANY($${params.length})`); }
  if (options.cursor) {
    const [ts, key] = decodeCursor(options.cursor, 2);
    params.push(ts, key);
    where.push(`(t.ts, t.type || ':' || t.id) < ($${params.length - 1}::timestamptz, $${params.length}::text)`);
  }
  params.push(options.limit + 1);
  const { rows } = await db.query<Item>(
    `SELECT t.ts::text AS ts, t.type || ':' || t.id AS key, t.type, t.id, t.summary, t.data, t.actor
       FROM (${branches.map((b) => `(${b})`).join(' UNION ALL ')}) AS t(ts, type, id, summary, data, actor)
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY t.ts DESC, t.type || ':' || t.id DESC LIMIT $${params.length}`, params);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({ type: r.type, id: r.id, at: new Date(r.ts).toISOString(), summary: r.summary, actor: r.actor, data: r.data })),
    nextCursor: rows.length > options.limit && last ? encodeCursor([last.ts, last.key]) : null,
  };
}

export async function leadTimeline(db: Db, leadId: string, options: TimelineOptions) {
  const { rows } = await db.query<{ contact_id: string; phone: string | null; email: string | null }>(
    'SELECT l.contact_id, c.phone, lower(c.email) AS email FROM leads l JOIN contacts c ON c.id = l.contact_id WHERE l.id = $1', [leadId]);
  if (!rows[0]) throw new AppError('LEAD_NOT_FOUND', { message: 'Lead not found' });
  return timeline(db, rows[0].contact_id, leadId, rows[0].phone, rows[0].email, options);
}

export async function contactTimeline(db: Db, contactId: string, options: TimelineOptions) {
  const { rows } = await db.query<{ phone: string | null; email: string | null; lead_id: string | null }>(
    'SELECT c.phone, lower(c.email) AS email, l.id AS lead_id FROM contacts c LEFT JOIN leads l ON l.contact_id = c.id WHERE c.id = $1', [contactId]);
  if (!rows[0]) throw new AppError('CONTACT_NOT_FOUND', { message: 'Contact not found' });
  return timeline(db, contactId, rows[0].lead_id, rows[0].phone, rows[0].email, options);
}
