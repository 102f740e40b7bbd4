/**
 * `events.dispatch` `{ clientId }`: drains the tenant's domain_events outbox in order. Each event
 * is locked (FOR UPDATE SKIP LOCKED) in its own transaction while every matching subscriber
 * (src/subscribers.ts) runs, then marked dispatched. Delivery is at-least-once: subscribers must be
 * idempotent (they get the event id). A failing event is retried on the next run (job backoff);
 * after MAX_EVENT_ATTEMPTS it is parked (marked dispatched with its error, logged) so it cannot
 * block the events behind it. The queue is `stately` per client: one queued + one active dispatcher
 * per tenant, so a burst of events enqueues one job and order is kept.
 */
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import type { DomainEventsNotifier, DomainEventSubscriber } from '../platform/events.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { tenantDbById } from '../tenants/index.ts';
import { lockNextEvent, markDispatched, recordDispatchFailure } from './domain-events.repo.ts';

export const MAX_EVENT_ATTEMPTS = 5;
/** Events handled per job run before it re-enqueues itself (keeps one tenant from hogging a worker). */
const BATCH = 500;

export interface DispatchEventsData { clientId: string }

export async function dispatchDomainEvents(ctx: AppContext, clientId: string, only?: readonly DomainEventSubscriber<AppContext>[]): Promise<{ dispatched: number; more: boolean }> {
  // Loaded lazily: subscribers.ts lists this domain's subscriber too (an import cycle otherwise).
  const subscribers = only ?? (await import('../subscribers.ts')).domainEventSubscribers;
  const db = await tenantDbById(ctx, clientId);
  let dispatched = 0;
  for (; dispatched < BATCH; dispatched++) {
    const outcome = await withTransaction(db, async (tx) => {
      const event = await lockNextEvent(tx);
      if (!event) return 'empty' as const;
      const matching = subscribers.filter((s) => s.events.includes(event.type));
      try {
        for (const subscriber of matching) await subscriber.handler(ctx, { clientId, event });
        await markDispatched(tx, event.id);
        return 'ok' as const;
      } catch (err) {
        const message = (err as Error).message?.slice(0, 1000) ?? String(err);
        if (event.attempts + 1 >= MAX_EVENT_ATTEMPTS) {
          await markDispatched(tx, event.id, message);
          ctx.logger.error({ clientId, eventId: event.id, type: event.type, err: message }, 'domain event parked after repeated subscriber failures');
          return 'ok' as const;
        }
        await recordDispatchFailure(tx, event.id, message);
        ctx.logger.warn({ clientId, eventId: event.id, type: event.type, err: message }, 'domain event subscriber failed; will retry');
        return { error: err } as const;
      }
    });
    if (outcome === 'empty') return { dispatched, more: false };
    if (typeof outcome === 'object') throw outcome.error;
  }
  return { dispatched, more: true };
}

export const dispatchEventsJob = defineJob<DispatchEventsData, AppContext>({
  name: 'events.dispatch',
  policy: 'stately',
  async handler(data, ctx) {
    const result = await dispatchDomainEvents(ctx, data.clientId);
    if (result.more) await enqueueDispatch(ctx, data.clientId);
    return result;
  },
});

/** Asks for the tenant's outbox to be drained (debounced per tenant by the queue policy). */
export async function enqueueDispatch(ctx: AppContext, clientId: string): Promise<void> {
  await ctx.queue.enqueue(dispatchEventsJob, { clientId }, { singletonKey: clientId });
}

/** The notifier wired into the context: a committed event starts its tenant's dispatcher at once. */
export function domainEventsNotifier(ctx: AppContext): DomainEventsNotifier {
  return {
    recorded(clientId) {
      enqueueDispatch(ctx, clientId).catch((err: Error) => ctx.logger.warn({ clientId, err: err.message }, 'could not enqueue domain event dispatch; the sweep will pick the events up'));
    },
  };
}
