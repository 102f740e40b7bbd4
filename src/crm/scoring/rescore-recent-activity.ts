/**
 * Rescores the leads whose WhatsApp messages changed since the last sweep (a
 * new inbound or outbound message, a read receipt), so scores follow activity
 * within a minute whatever domain wrote the messages. The watermark lives in
 * `crm_settings.activity_rescored_at`; the first sweep only sets it.
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { recalculateScores } from './recalculate-scores.ts';

const CHUNK = 5000;

export async function rescoreRecentActivity(ctx: AppContext, pool: pg.Pool, clientId: string, options: { now: Date }): Promise<{ rescored: number; changed: number }> {
  const { rows: settings } = await pool.query<{ since: Date | null }>('SELECT activity_rescored_at AS since FROM crm_settings LIMIT 1');
  const since = settings[0]?.since ?? null;
  let rescored = 0;
  let changed = 0;
  let crossed = 0;
  if (since) {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT DISTINCT l.id FROM messages m JOIN leads l ON l.contact_id = m.contact_id
        WHERE m.updated_at > $1 AND m.updated_at <= $2 ORDER BY l.id`, [since, options.now]);
    for (let i = 0; i < rows.length; i += CHUNK) {
      const result = await recalculateScores(pool, { leadIds: rows.slice(i, i + CHUNK).map((r) => r.id) }, { now: options.now, reason: 'activity' });
      rescored += result.processed;
      changed += result.changed.length;
      crossed += result.crossed;
      for (const change of result.changed) ctx.realtime.publish({ clientId, event: 'lead.scored', payload: change });
    }
  }
  await pool.query('UPDATE crm_settings SET activity_rescored_at = $1', [options.now]);
  if (crossed > 0) ctx.domainEvents.recorded(clientId);
  return { rescored, changed };
}
