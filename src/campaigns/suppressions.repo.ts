/** The client's suppression list: addresses never mailed again (tenant database). */
import type { Db } from '../platform/db/pool.ts';

export type SuppressionReason = 'unsubscribed' | 'hard_bounce' | 'complaint' | 'manual';

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function addSuppression(db: Db, email: string, reason: SuppressionReason, source: string): Promise<boolean> {
  const result = await db.query(
    'INSERT INTO email_suppressions (email, reason, source) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING',
    [normaliseEmail(email), reason, source.slice(0, 200)],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function findSuppression(db: Db, email: string): Promise<{ reason: SuppressionReason; created_at: Date } | undefined> {
  const { rows } = await db.query<{ reason: SuppressionReason; created_at: Date }>('SELECT reason, created_at FROM email_suppressions WHERE email = $1', [normaliseEmail(email)]);
  return rows[0];
}

export async function listSuppressions(db: Db, limit: number, after?: string) {
  const { rows } = await db.query<{ email: string; reason: string; source: string | null; created_at: Date }>(
    'SELECT email, reason, source, created_at FROM email_suppressions WHERE ($2::text IS NULL OR email > $2) ORDER BY email LIMIT $1',
    [limit, after ?? null],
  );
  return rows;
}
