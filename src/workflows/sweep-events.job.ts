/**
 * `events.sweep` (cron, once per tick across all instances): a backstop for events whose dispatch
 * was never enqueued (the process died between commit and enqueue). Checking every tenant database
 * every minute would not scale (thousands of databases, a pool each), so a tick checks
 * (1) the tenants whose pools are open in the process running it (one indexed probe each), and
 * (2) a rotating slice of SWEEP_SLICE other tenants, so every tenant is checked at least every
 * (clients / SWEEP_SLICE) minutes. Trade-off: an event lost to a crash in a cold tenant may wait
 * that long; events of live tenants are dispatched at once by the notifier.
 */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { tenantDbById } from '../tenants/index.ts';
import { enqueueDispatch } from './dispatch-events.job.ts';
import { hasUndispatched } from './domain-events.repo.ts';

const SWEEP_SLICE = 20;

export async function sweepDomainEvents(ctx: AppContext, now = new Date()): Promise<{ checked: number; enqueued: number }> {
  const open = ctx.tenantPools.openKeys();
  const { rows: count } = await ctx.controlDb.query<{ n: string }>('SELECT count(*) AS n FROM client_datasources');
  const total = Number(count[0].n);
  const slices = Math.max(1, Math.ceil(total / SWEEP_SLICE));
  const slice = Math.floor(now.getTime() / 60_000) % slices;
  const { rows } = await ctx.controlDb.query<{ client_id: string }>(
    'SELECT client_id FROM client_datasources ORDER BY client_id LIMIT $1 OFFSET $2', [SWEEP_SLICE, slice * SWEEP_SLICE],
  );
  const ids = [...new Set([...open, ...rows.map((r) => String(r.client_id))])];
  let enqueued = 0;
  for (const clientId of ids) {
    try {
      const db = await tenantDbById(ctx, clientId);
      if (await hasUndispatched(db)) {
        await enqueueDispatch(ctx, clientId);
        enqueued++;
      }
    } catch (err) {
      ctx.logger.warn({ clientId, err: (err as Error).message }, 'domain event sweep could not check a tenant');
    }
  }
  return { checked: ids.length, enqueued };
}

export const sweepEventsJob = defineJob<Record<string, never>, AppContext>({
  name: 'events.sweep',
  retry: { attempts: 1 },
  async handler(_data, ctx) {
    return sweepDomainEvents(ctx);
  },
});
