/** SQL for the webhook inbox (control database, table whatsapp_inbox). */
import type pg from 'pg';
import { withTransaction, type Db } from '../platform/db/pool.ts';

export const INBOX_CHANNEL = 'ecodrix_whatsapp_inbox';
export const INBOX_STATES = ['pending', 'processing', 'done', 'unroutable', 'dead'] as const;
export type InboxState = (typeof INBOX_STATES)[number];

export interface NewInboxRow {
  body: Buffer;
  /** Client ids whose own app secret verified the body; null when a global secret did. */
  verifiedFor: string[] | null;
}

export interface ClaimedInboxRow {
  id: string;
  body: Buffer;
  verified_for: string[] | null;
  attempts: number;
  done_client_ids: string[];
  received_at: Date;
}

export interface UnroutableChange {
  entryId: string | null;
  field: string | null;
  phoneNumberId: string | null;
  reason: string;
}

export interface InboxRowView {
  id: string;
  received_at: Date;
  state: InboxState;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  client_ids: string[];
  unroutable: UnroutableChange[];
  processed_at: Date | null;
  size: number;
}

/**
 * Inserts many deliveries in one statement (and wakes the consumers once, on commit). The bodies travel
 * as one binary parameter cut by offsets in SQL: no hex text encoding of every body on either side.
 */
export async function insertInboxRows(db: Db, rows: NewInboxRow[]): Promise<number> {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  for (const row of rows) {
    offsets.push(at);
    lengths.push(row.body.length);
    at += row.body.length;
  }
  const result = await db.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO whatsapp_inbox (body, verified_for)
       SELECT substring($1::bytea FROM t.o + 1 FOR t.l), t.v::bigint[] FROM unnest($2::int[], $3::int[], $4::text[]) AS t(o, l, v)
       RETURNING 1)
     SELECT count(*)::int AS n, pg_notify('${INBOX_CHANNEL}', '') FROM ins`,
    [Buffer.concat(rows.map((r) => r.body), at), offsets, lengths, rows.map((r) => (r.verifiedFor ? `{${r.verifiedFor.join(',')}}` : null))],
  );
  return result.rows[0]?.n ?? 0;
}

/** Claims up to `limit` due rows (pending, or processing with an expired lease). */
export async function claimInboxRows(db: Db, limit: number, leaseSeconds: number): Promise<ClaimedInboxRow[]> {
  const { rows } = await db.query<ClaimedInboxRow>(
    `WITH due AS (
       SELECT id FROM whatsapp_inbox WHERE state = 'pending' AND next_attempt_at <= now()
       ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED),
     expired AS (
       SELECT id FROM whatsapp_inbox WHERE state = 'processing' AND locked_until < now()
       LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE whatsapp_inbox i SET state = 'processing', attempts = i.attempts + 1,
       locked_until = now() + make_interval(secs => $2)
     WHERE i.id IN (SELECT id FROM due UNION ALL SELECT id FROM expired)
     RETURNING i.id::text, i.body, i.verified_for::text[], i.attempts, i.done_client_ids::text[], i.received_at`,
    [limit, leaseSeconds],
  );
  return rows;
}

/** Extends the leases of rows this process is still working on. */
export async function renewInboxLeases(db: Db, ids: string[], leaseSeconds: number): Promise<void> {
  await db.query(
    `UPDATE whatsapp_inbox SET locked_until = now() + make_interval(secs => $2) WHERE id = ANY($1::bigint[]) AND state = 'processing'`,
    [ids, leaseSeconds],
  );
}

/** Seconds until the next pending row is due (null when none is waiting). */
export async function secondsUntilNextDue(db: Db): Promise<number | null> {
  const { rows } = await db.query<{ s: number | null }>(
    `SELECT extract(epoch FROM (min(next_attempt_at) - now()))::float8 AS s FROM whatsapp_inbox WHERE state = 'pending'`,
  );
  return rows[0]?.s ?? null;
}

/**
 * Runs inbox bookkeeping (claims, outcomes) without waiting for the WAL flush: losing such a write in a
 * crash only makes a row run again, and applying a row is idempotent. The inbox INSERT itself stays synchronous.
 */
export function withAsyncCommit<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, fn, { asyncCommit: true });
}

/** Marks many rows finished in one statement. */
export async function finishInboxRows(db: Db, rows: Array<{ id: string; state: 'done' | 'unroutable'; clientIds: string[]; unroutable: UnroutableChange[] }>): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE whatsapp_inbox i SET state = f.state, client_ids = f.clients::bigint[], done_client_ids = f.clients::bigint[],
       unroutable = f.unroutable::jsonb, locked_until = NULL, last_error = NULL, processed_at = now()
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS f(id, state, clients, unroutable)
     WHERE i.id = f.id`,
    [rows.map((r) => r.id), rows.map((r) => r.state), rows.map((r) => `{${r.clientIds.join(',')}}`), rows.map((r) => JSON.stringify(r.unroutable))],
  );
}

/** Records a failed attempt: retried at `retryAt`, or dead-lettered when `retryAt` is null. */
export async function failInboxRow(db: Db, id: string, input: {
  error: string;
  retryAt: Date | null;
  clientIds: string[];
  doneClientIds: string[];
  unroutable: UnroutableChange[];
}): Promise<void> {
  await db.query(
    `UPDATE whatsapp_inbox SET state = CASE WHEN $2::timestamptz IS NULL THEN 'dead' ELSE 'pending' END,
       next_attempt_at = coalesce($2, next_attempt_at), last_error = $3, locked_until = NULL,
       client_ids = $4::bigint[], done_client_ids = $5::bigint[], unroutable = $6,
       processed_at = CASE WHEN $2::timestamptz IS NULL THEN now() END
     WHERE id = $1`,
    [id, input.retryAt, input.error.slice(0, 2000), input.clientIds, input.doneClientIds, JSON.stringify(input.unroutable)],
  );
}

export async function listInboxRows(db: Db, options: { state?: InboxState; before?: string; limit: number }): Promise<InboxRowView[]> {
  const { rows } = await db.query<InboxRowView>(
    `SELECT id::text, received_at, state, attempts, next_attempt_at, last_error, client_ids::text[], unroutable,
       processed_at, octet_length(body) AS size
     FROM whatsapp_inbox WHERE ($1::text IS NULL OR state = $1) AND ($2::bigint IS NULL OR id < $2)
     ORDER BY id DESC LIMIT $3`,
    [options.state ?? null, options.before ?? null, options.limit],
  );
  return rows;
}

/**
 * Puts a parked row (dead, unroutable or done) back in the queue with fresh attempts.
 * @returns the row's previous state, or undefined when no such row exists
 */
export async function requeueInboxRow(db: Db, id: string): Promise<{ previous: InboxState; requeued: boolean } | undefined> {
  const { rows } = await db.query<{ previous: InboxState }>(
    `UPDATE whatsapp_inbox i SET state = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL,
       last_error = NULL, processed_at = NULL, done_client_ids = CASE WHEN old.state = 'done' THEN '{}' ELSE i.done_client_ids END
     FROM (SELECT id, state FROM whatsapp_inbox WHERE id = $1 FOR UPDATE) old
     WHERE i.id = old.id AND old.state IN ('dead', 'unroutable', 'done')
     RETURNING old.state AS previous, pg_notify('${INBOX_CHANNEL}', '')`,
    [id],
  );
  if (rows[0]) return { previous: rows[0].previous, requeued: true };
  const { rows: existing } = await db.query<{ state: InboxState }>('SELECT state FROM whatsapp_inbox WHERE id = $1', [id]);
  return existing[0] ? { previous: existing[0].state, requeued: false } : undefined;
}

/** Deletes applied rows older than `days` (dead/unroutable after 4× as long). @returns rows deleted */
export async function pruneInboxRows(db: Db, days: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM whatsapp_inbox WHERE (state = 'done' AND processed_at < now() - make_interval(days => $1))
       OR (state IN ('dead', 'unroutable') AND received_at < now() - make_interval(days => $1 * 4))`,
    [days],
  );
  return rowCount ?? 0;
}
