/**
 * Domain events and the real-time fan-out hook.
 *
 * Domain events (`lead_captured`, `message.received`, `lead.scored` ...) are
 * recorded in the tenant database's `domain_events` outbox inside the same
 * transaction as the change, then dispatched to subscribers (automations,
 * scoring) through the job queue. Real-time events are published after commit
 * to the dashboards through `RealtimePublisher`.
 */
import type { Db } from './db/pool.ts';

export interface DomainEvent<T = Record<string, unknown>> {
  id: number;
  type: string;
  data: T;
  createdAt: Date;
}

/** Records a domain event in the tenant outbox (call inside the change's transaction). */
export async function recordDomainEvent(db: Db, type: string, data: Record<string, unknown>): Promise<number> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO domain_events (type, data) VALUES ($1, $2) RETURNING id', [type, data]);
  return Number(rows[0].id);
}

/** A dashboard event: `room` is a client or conversation room; `event` a name like `message.created`. */
export interface RealtimeEvent {
  clientId: string;
  event: string;
  payload: unknown;
  /** Also deliver to the conversation room (dashboards viewing one conversation). */
  conversationId?: string;
}

/** Where real-time events go; the Socket.io gateway implements it, tests may collect. */
export interface RealtimePublisher {
  publish(event: RealtimeEvent): void;
}

/** A publisher that drops events (roles without the API, or before the gateway starts). */
export const nullPublisher: RealtimePublisher = { publish: () => {} };

/**
 * A subscriber to domain events: automations (`lead_captured` …), scoring,
 * the SLA tracker. Listed in `src/subscribers.ts`; the dispatcher job
 * (workflows domain) reads undispatched rows from a tenant's `domain_events`
 * outbox and calls each matching handler.
 */
export interface DomainEventSubscriber<TContext> {
  /** Stable name (used in logs and idempotency keys). */
  name: string;
  /** Event types this subscriber wants. */
  events: readonly string[];
  handler: (ctx: TContext, input: { clientId: string; event: DomainEvent }) => Promise<void>;
}

/** Told after a transaction that recorded domain events commits, so dispatch can start at once. */
export interface DomainEventsNotifier {
  recorded(clientId: string): void;
}

/** Default notifier (no dispatch wired): events wait for the periodic sweep. */
export const nullDomainEventsNotifier: DomainEventsNotifier = { recorded: () => {} };
