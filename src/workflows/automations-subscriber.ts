/**
 * Automations listening to internal domain events: `lead_captured` (recorded by inbound WhatsApp
 * and lead creation) runs the client's active workflows/automations for that trigger. The event id
 * is the idempotency key, so a re-dispatched event schedules nothing twice.
 */
import type { AppContext } from '../context.ts';
import type { DomainEventSubscriber } from '../platform/events.ts';
import { triggerWorkflows } from './trigger-workflows.ts';

export const automationsSubscriber: DomainEventSubscriber<AppContext> = {
  name: 'workflows.automations',
  events: ['lead_captured'],
  async handler(ctx, { clientId, event }) {
    const data = event.data ?? {};
    const phone = typeof data.phone === 'string' && /^[1-9][0-9]{7,14}$/.test(data.phone) ? data.phone : '';
    const name = typeof data.name === 'string' ? data.name : typeof data.contactName === 'string' ? data.contactName : undefined;
    const metadata: Record<string, unknown> = { eventId: event.id };
    for (const key of ['leadId', 'contactId', 'source'] as const) if (data[key] !== undefined) metadata[key] = data[key];
    await triggerWorkflows(ctx, {
      clientId, trigger: 'lead_captured', phone, variables: name ? [name] : [],
      idempotencyKey: `event:${event.id}`, callbackMetadata: metadata, context: data,
    });
  },
};
