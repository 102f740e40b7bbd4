/**
 * Pacing per sending number shared by every instance: a GCRA token bucket in
 * the control database (`whatsapp_send_pace`). One statement reserves the send
 * slots of a whole batch for a number; each slot is an offset from the
 * database's clock, turned into a local wait, so clocks of the instances never
 * need to agree. Burst = `rate` messages (one second's worth), like the former
 * per-process bucket; a reserved slot is never given to another instance, so
 * the combined rate of all instances stays within the number's rate.
 */
import type { Db } from '../platform/db/pool.ts';

/**
 * Reserves `counts.get(number)` consecutive slots for each number.
 * @returns per number, the wait in ms before each of its sends (ascending; 0 = now)
 */
export async function reserveSendSlots(db: Db, counts: Map<string, number>, ratePerSecond: number): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>();
  if (counts.size === 0) return result;
  const intervalMs = 1000 / ratePerSecond;
  // Burst tolerance: a full bucket lets `rate` sends go back to back.
  const toleranceMs = (ratePerSecond - 1) * intervalMs;
  const numbers = [...counts.keys()];
  const { rows } = await db.query<{ phone_number_id: string; ahead_ms: number }>(
    // ahead_ms: how far the reservation's first slot (the old tat, or now) lies ahead of now.
    `WITH want AS (SELECT * FROM unnest($1::text[], $2::int[]) AS w(phone_number_id, n)),
     up AS (
       INSERT INTO whatsapp_send_pace AS p (phone_number_id, tat)
       SELECT phone_number_id, clock_timestamp() + make_interval(secs => n * $3::float8 / 1000) FROM want
       ON CONFLICT (phone_number_id) DO UPDATE
         SET tat = greatest(p.tat, clock_timestamp()) + make_interval(secs => (SELECT n FROM want WHERE want.phone_number_id = p.phone_number_id) * $3::float8 / 1000)
       RETURNING p.phone_number_id, p.tat
     )
     SELECT up.phone_number_id, extract(epoch FROM (up.tat - clock_timestamp())) * 1000 - want.n * $3::float8 AS ahead_ms
     FROM up JOIN want USING (phone_number_id)`,
    [numbers, numbers.map((n) => counts.get(n)!), intervalMs],
  );
  for (const row of rows) {
    const n = counts.get(row.phone_number_id)!;
    const ahead = Number(row.ahead_ms);
    result.set(row.phone_number_id, Array.from({ length: n }, (_, i) => Math.max(0, Math.ceil(ahead + i * intervalMs - toleranceMs))));
  }
  return result;
}
