/**
 * The service's metrics: HTTP latency by route, jobs by queue and state,
 * tenant pools, process memory. Domains add their own through
 * `ctx.metrics` (counters they increment, or scrape-time collectors).
 */
import type { AppContext } from '../context.ts';
import type { MetricsRegistry } from '../platform/metrics.ts';

/** Registers the collectors that read state at scrape time. */
export function registerCoreCollectors(ctx: AppContext, registry: MetricsRegistry): void {
  const queueJobs = registry.gauge('ecodrix_jobs', 'Jobs per queue and state (pg-boss)');
  const pools = registry.gauge('ecodrix_tenant_pools', 'Open tenant database pools');
  const poolConnections = registry.gauge('ecodrix_tenant_pool_connections', 'Tenant database connections by state');
  const memory = registry.gauge('ecodrix_process_resident_memory_bytes', 'Resident set size of this process');
  const controlPool = registry.gauge('ecodrix_control_pool_connections', 'Control database connections by state');

  registry.collect(async () => {
    const queues = await ctx.queue.boss.getQueues(ctx.queue.names);
    queueJobs.reset();
    for (const q of queues) {
      queueJobs.set({ queue: q.name, state: 'queued' }, q.readyCount ?? q.queuedCount);
      queueJobs.set({ queue: q.name, state: 'deferred' }, q.deferredCount);
      queueJobs.set({ queue: q.name, state: 'active' }, q.activeCount);
      queueJobs.set({ queue: q.name, state: 'failed' }, q.failedCount);
    }
  });
  const inbox = registry.gauge('ecodrix_webhook_inbox_rows', 'WhatsApp webhook inbox rows by state');
  const inboxLag = registry.gauge('ecodrix_webhook_inbox_lag_seconds', 'Age of the oldest webhook waiting to be applied');
  registry.collect(async () => {
    const { rows } = await ctx.controlDb.query<{ state: string; n: number; oldest: number | null }>(
      `SELECT state, count(*)::int AS n, extract(epoch FROM now() - min(received_at))::float AS oldest
         FROM whatsapp_inbox WHERE state <> 'done' GROUP BY state`,
    );
    inbox.reset();
    for (const state of ['pending', 'processing', 'unroutable', 'dead']) inbox.set({ state }, rows.find((r) => r.state === state)?.n ?? 0);
    const waiting = rows.filter((r) => r.state === 'pending' || r.state === 'processing').map((r) => r.oldest ?? 0);
    inboxLag.set({}, waiting.length ? Math.max(...waiting) : 0);
  });
  registry.collect(async () => {
    const stats = ctx.tenantPools.stats();
    pools.set({}, stats.pools);
    poolConnections.set({ state: 'total' }, stats.connections);
    poolConnections.set({ state: 'idle' }, stats.idle);
    poolConnections.set({ state: 'waiting' }, stats.waiting);
    controlPool.set({ state: 'total' }, ctx.controlDb.totalCount);
    controlPool.set({ state: 'idle' }, ctx.controlDb.idleCount);
    controlPool.set({ state: 'waiting' }, ctx.controlDb.waitingCount);
    memory.set({}, process.memoryUsage().rss);
  });
}
