/** SQL for the shared failed-authentication counters (control table `auth_failures`). */
import type { Db } from '../platform/db/pool.ts';

export interface FailureCount {
  key: string;
  /** Failures in the key's current window, this one included. */
  count: number;
  /** Milliseconds until the window ends. */
  remainingMs: number;
}

/**
 * Counts one failure for each of `keys` in one statement: a key whose window ended (or that has no
 * row) starts a new window of `windowSeconds` at count 1. Database time, so every instance agrees.
 * `keys` must be distinct; they are locked in sorted order so concurrent failures cannot deadlock.
 */
export async function countFailures(db: Db, keys: string[], windowSeconds: number): Promise<FailureCount[]> {
  const { rows } = await db.query<{ key: string; count: number; remaining_ms: number }>(
    `INSERT INTO auth_failures AS f (key, count, reset_at)
     SELECT k, 1, now() + make_interval(secs => $2) FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN f.reset_at <= now() THEN 1 ELSE f.count + 1 END,
       reset_at = CASE WHEN f.reset_at <= now() THEN EXCLUDED.reset_at ELSE f.reset_at END
     RETURNING key, count, greatest(0, extract(epoch FROM reset_at - now()) * 1000)::float8 AS remaining_ms`,
    [[...keys].sort(), windowSeconds],
  );
  return rows.map((r) => ({ key: r.key, count: r.count, remainingMs: r.remaining_ms }));
}

/** Deletes counters whose window has ended. */
export async function pruneFailures(db: Db): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM auth_failures WHERE reset_at <= now()');
  return rowCount ?? 0;
}
