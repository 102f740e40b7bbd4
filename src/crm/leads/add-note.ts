/**
 * Adds a note to a lead's timeline. A note of kind call/meeting/email/whatsapp
 * also logs a contact, which satisfies the first-contact SLA.
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { findLead } from './leads.repo.ts';
import { leadNotFound } from './update-lead.ts';

export const NOTE_KINDS = ['note', 'call', 'meeting', 'email', 'whatsapp'] as const;
export type NoteKind = typeof NOTE_KINDS[number];

export async function addLeadNote(ctx: AppContext, pool: pg.Pool, clientId: string, leadId: string, input: { body: string; kind?: NoteKind; actor: string; occurredAt?: Date }) {
  const note = await withTransaction(pool, async (tx) => {
    const lead = await findLead(tx, leadId, { forUpdate: true });
    if (!lead) throw leadNotFound();
    const kind = input.kind ?? 'note';
    const occurredAt = input.occurredAt ?? new Date();
    const { rows } = await tx.query<{ id: string; occurred_at: Date }>(
      `INSERT INTO activities (contact_id, lead_id, type, summary, data, actor, occurred_at) VALUES ($1, $2, 'note', $3, $4, $5, $6) RETURNING id, occurred_at`,
      [lead.contact_id, leadId, input.body.slice(0, 200), { body: input.body, kind }, input.actor, occurredAt]);
    if (kind !== 'note') {
      await tx.query('UPDATE leads SET first_contacted_at = coalesce(first_contacted_at, $2), updated_at = now() WHERE id = $1', [leadId, occurredAt]);
    }
    return { id: rows[0].id, leadId, kind, body: input.body, actor: input.actor, occurredAt: rows[0].occurred_at.toISOString() };
  });
  ctx.realtime.publish({ clientId, event: 'lead.note_added', payload: note });
  return note;
}
