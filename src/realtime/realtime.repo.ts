/** Reads the real-time gateway needs (tenant and control databases). */
import type { Db } from '../platform/db/pool.ts';

export async function conversationExists(db: Db, conversationId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM conversations WHERE id = $1', [conversationId]);
  return (rowCount ?? 0) > 0;
}

/** An event too large for NOTIFY, stored by a publishing process (see notify-publisher.ts). */
export async function readOutboxEvent(db: Db, id: string): Promise<unknown> {
  const { rows } = await db.query<{ payload: unknown }>('SELECT payload FROM realtime_outbox WHERE id = $1', [id]);
  return rows[0]?.payload;
}

export async function sweepOutbox(db: Db, olderThanSeconds: number): Promise<void> {
  await db.query(`DELETE FROM realtime_outbox WHERE created_at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
}
