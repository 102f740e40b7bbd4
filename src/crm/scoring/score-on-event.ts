/**
 * Domain-event subscriber: rescores the lead an event is about as soon as it
 * is dispatched (a new WhatsApp lead, a message, a stage change, an
 * appointment change), so scores move between nightly recalculations.
 */
import type { AppContext } from '../../context.ts';
import type { DomainEventSubscriber } from '../../platform/events.ts';
import { tenantDbById } from '../../tenants/index.ts';
import { recalculateScores } from './recalculate-scores.ts';

export const SCORE_EVENTS = ['lead_captured', 'message.received', 'message.inbound', 'lead.stage_changed', 'appointment.booked', 'appointment.rescheduled', 'appointment.cancelled', 'appointment.status_changed', 'contact.merged'] as const;

function idOf(data: Record<string, unknown>, name: string): string | null {
  const value = data[name];
  return typeof value === 'string' && /^[0-9a-f-]{36}$/i.test(value) ? value : null;
}

export const scoreOnEventSubscriber: DomainEventSubscriber<AppContext> = {
  name: 'crm.score-on-event',
  events: SCORE_EVENTS,
  async handler(ctx, { clientId, event }) {
    const db = await tenantDbById(ctx, clientId);
    let leadId = idOf(event.data, 'leadId');
    const contactId = idOf(event.data, 'contactId');
    if (!leadId && contactId) {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM leads WHERE contact_id = $1', [contactId]);
      leadId = rows[0]?.id ?? null;
    }
    if (!leadId) return;
    const result = await recalculateScores(db, { leadIds: [leadId] }, { now: new Date(), reason: `event:${event.type}` });
    if (result.crossed > 0) ctx.domainEvents.recorded(clientId);
    const change = result.changed[0];
    if (change) ctx.realtime.publish({ clientId, event: 'lead.scored', payload: change });
  },
};
