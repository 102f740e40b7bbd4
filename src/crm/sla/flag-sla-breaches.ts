/**
 * First-contact SLA: a lead must get an outbound WhatsApp message or a logged
 * contact (a note of kind call/meeting/email/whatsapp) within the client's
 * window. The sweep looks at uncontacted leads whose window has closed (partial
 * index `leads_sla_pending`), records when each was first contacted, and flags
 * the rest: `sla_breached_at`, an activity, a `lead.sla_breached` domain event
 * and a dashboard event. Imported leads are exempt (nobody promised them an answer).
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { withTransaction } from '../../platform/db/pool.ts';

export interface FlagSlaOptions {
  clientId: string;
  now: Date;
  /** Leads per statement. */
  batchSize?: number;
}

export interface SlaBreach { leadId: string; contactId: string; createdAt: string; deadline: string; firstContactedAt: string | null }

/** The client's window in minutes (tenant setting, else configuration). */
export async function slaWindowMinutes(ctx: AppContext, db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ minutes: number | null }>('SELECT first_contact_sla_minutes AS minutes FROM crm_settings LIMIT 1');
  return rows[0]?.minutes ?? ctx.config.crm.slaMinutes;
}

export async function flagSlaBreaches(ctx: AppContext, pool: pg.Pool, options: FlagSlaOptions): Promise<{ checked: number; breaches: SlaBreach[] }> {
  const minutes = await slaWindowMinutes(ctx, pool);
  const batchSize = options.batchSize ?? 1000;
  const all: SlaBreach[] = [];
  let checked = 0;
  for (;;) {
    const result = await withTransaction(pool, async (tx) => {
      const { rows } = await tx.query<{ id: string; contact_id: string; created_at: Date; deadline: Date; first_at: Date | null; breached: boolean }>(
        `WITH due AS (
           SELECT l.id, l.contact_id, l.created_at, l.created_at + make_interval(mins => $2) AS deadline
             FROM leads l
            WHERE l.first_contacted_at IS NULL AND l.sla_breached_at IS NULL AND l.source <> 'import'
              AND l.created_at <= $1::timestamptz - make_interval(mins => $2)
            ORDER BY l.created_at LIMIT $3 FOR UPDATE SKIP LOCKED),
         firsts AS (
           SELECT d.*, LEAST(
             (SELECT min(m.created_at) FROM messages m WHERE m.contact_id = d.contact_id AND m.direction = 'outbound'),
             (SELECT min(a.occurred_at) FROM activities a WHERE a.lead_id = d.id AND a.type = 'note' AND a.data->>'kind' IS DISTINCT FROM 'note')
           ) AS first_at FROM due d),
         updated AS (
           UPDATE leads l SET first_contacted_at = f.first_at,
                  sla_breached_at = CASE WHEN f.first_at IS NULL OR f.first_at > f.deadline THEN $1::timestamptz END
             FROM firsts f WHERE l.id = f.id
           RETURNING l.id, l.contact_id, f.created_at, f.deadline, f.first_at, l.sla_breached_at IS NOT NULL AS breached),
         acts AS (
           INSERT INTO activities (contact_id, lead_id, type, summary, data, actor, occurred_at)
           SELECT contact_id, id, 'sla_breached', 'No first contact within ' || $2 || ' minutes',
                  jsonb_build_object('deadline', deadline, 'firstContactedAt', first_at, 'windowMinutes', $2), 'system', $1::timestamptz
             FROM updated WHERE breached RETURNING id),
         events AS (
           INSERT INTO domain_events (type, data)
           SELECT 'lead.sla_breached', jsonb_build_object('leadId', id, 'contactId', contact_id, 'createdAt', created_at, 'deadline', deadline,
                  'firstContactedAt', first_at, 'windowMinutes', $2)
             FROM updated WHERE breached RETURNING id)
         SELECT u.*, (SELECT count(*) FROM acts) + (SELECT count(*) FROM events) AS written FROM updated u`,
        [options.now, minutes, batchSize]);
      return rows;
    });
    checked += result.length;
    for (const row of result) {
      if (!row.breached) continue;
      all.push({ leadId: row.id, contactId: row.contact_id, createdAt: row.created_at.toISOString(), deadline: row.deadline.toISOString(), firstContactedAt: row.first_at?.toISOString() ?? null });
    }
    if (result.length < batchSize) break;
  }
  if (all.length) {
    ctx.domainEvents.recorded(options.clientId);
    for (const breach of all) ctx.realtime.publish({ clientId: options.clientId, event: 'lead.sla_breached', payload: breach });
  }
  return { checked, breaches: all };
}
