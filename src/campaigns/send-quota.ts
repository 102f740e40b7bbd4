/**
 * The client's sending pace and daily cap, shared by every worker through one
 * locked row (`email_send_quota`): each message gets a send slot 1/rate apart
 * (even pacing, like GCRA), slots are handed out at most `lookaheadMs` ahead,
 * and the UTC-day counter enforces the daily cap. A quota reply from the
 * provider pauses the whole client until the next UTC day.
 */
import type { Db } from '../platform/db/pool.ts';

export interface PaceLimits {
  /** messages per second; 0 = unthrottled */
  perSecond: number;
  /** messages per UTC day; 0 = no cap */
  perDay: number;
}

export interface SlotPlan {
  /** Messages that may be claimed now (0 with waitUntil). */
  count: number;
  waitUntil?: Date;
  /** Why we wait: pace, daily cap or a provider quota pause. */
  waitReason?: 'pace' | 'daily_cap' | 'client_paused';
  start: number;
  intervalMs: number;
  day: string;
  dayCount: number;
}

interface QuotaRow { next_slot_at: Date; day: string; day_count: number; paused_until: Date | null; today: string }

export function nextUtcMidnight(now: number): Date {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1));
}

/** Locks the quota row (inside the caller's transaction) and plans up to `want` slots. */
export async function planSlots(tx: Db, want: number, limits: PaceLimits, lookaheadMs = 1000, now = Date.now()): Promise<SlotPlan> {
  const { rows } = await tx.query<QuotaRow>(
    `SELECT next_slot_at, day::text AS day, day_count, paused_until, (now() AT TIME ZONE 'UTC')::date::text AS today FROM email_send_quota WHERE id = 1 FOR UPDATE`,
  );
  const q = rows[0];
  const intervalMs = limits.perSecond > 0 ? 1000 / limits.perSecond : 0;
  const dayCount = q.day === q.today ? q.day_count : 0;
  const base = { start: now, intervalMs, day: q.today, dayCount };
  if (q.paused_until && q.paused_until.getTime() > now) return { ...base, count: 0, waitUntil: q.paused_until, waitReason: 'client_paused' };
  const dayLeft = limits.perDay > 0 ? limits.perDay - dayCount : Number.POSITIVE_INFINITY;
  if (dayLeft <= 0) return { ...base, count: 0, waitUntil: nextUtcMidnight(now), waitReason: 'daily_cap' };
  const start = Math.max(now, q.next_slot_at.getTime());
  let count = Math.min(want, dayLeft);
  if (intervalMs > 0) {
    if (start > now + lookaheadMs) return { ...base, start, count: 0, waitUntil: new Date(start - lookaheadMs), waitReason: 'pace' };
    count = Math.min(count, Math.floor((now + lookaheadMs - start) / intervalMs) + 1);
  }
  return { ...base, start, count: Math.max(0, count) };
}

/** Records that `used` of the planned slots were taken; returns their times (ms). */
export async function commitSlots(tx: Db, plan: SlotPlan, used: number): Promise<number[]> {
  const slots = Array.from({ length: used }, (_, i) => plan.start + i * plan.intervalMs);
  if (used > 0) {
    await tx.query(
      `UPDATE email_send_quota SET next_slot_at = to_timestamp($1 / 1000.0), day = $2::date, day_count = $3 WHERE id = 1`,
      [plan.start + used * plan.intervalMs, plan.day, plan.dayCount + used],
    );
  }
  return slots;
}

/** Pauses all of the client's sending (provider quota reached). */
export async function pauseClientSending(db: Db, until: Date, reason: string): Promise<void> {
  await db.query('UPDATE email_send_quota SET paused_until = $1, pause_reason = $2 WHERE id = 1', [until, reason.slice(0, 500)]);
}

export async function readClientPause(db: Db): Promise<{ pausedUntil: Date | null; reason: string | null }> {
  const { rows } = await db.query<{ paused_until: Date | null; pause_reason: string | null }>('SELECT paused_until, pause_reason FROM email_send_quota WHERE id = 1');
  const row = rows[0];
  return row?.paused_until && row.paused_until.getTime() > Date.now() ? { pausedUntil: row.paused_until, reason: row.pause_reason } : { pausedUntil: null, reason: null };
}
