/** The tenant's domain_events outbox, as the dispatcher sees it. */
import type { Db } from '../platform/db/pool.ts';
import type { DomainEvent } from '../platform/events.ts';

export interface PendingEvent extends DomainEvent { attempts: number }

/** Locks the oldest undispatched event not locked by another dispatcher (call inside a transaction). */
export async function lockNextEvent(tx: Db): Promise<PendingEvent | undefined> {
  const { rows } = await tx.query<{ id: string; type: string; data: Record<string, unknown>; created_at: Date; dispatch_attempts: number }>(
    `SELECT id, type, data, created_at, dispatch_attempts FROM domain_events WHERE dispatched_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
  );
  const r = rows[0];
  return r && { id: Number(r.id), type: r.type, data: r.data, createdAt: r.created_at, attempts: r.dispatch_attempts };
}

export async function markDispatched(tx: Db, id: number, error?: string): Promise<void> {
  await tx.query('UPDATE domain_events SET dispatched_at = now(), dispatch_error = $2 WHERE id = $1', [id, error ?? null]);
}

export async function recordDispatchFailure(tx: Db, id: number, error: string): Promise<void> {
  await tx.query('UPDATE domain_events SET dispatch_attempts = dispatch_attempts + 1, dispatch_error = $2 WHERE id = $1', [id, error]);
}

export async function hasUndispatched(db: Db): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM domain_events WHERE dispatched_at IS NULL LIMIT 1');
  return rows.length > 0;
}
