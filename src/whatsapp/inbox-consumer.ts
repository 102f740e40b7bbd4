/**
 * The inbox consumer (worker role): loops that claim due rows with
 * FOR UPDATE SKIP LOCKED, woken at once by NOTIFY on insert, with a polling
 * fallback (missed notifications, retries coming due, expired leases).
 * Any number of processes may run it against the same control database.
 */
import type { AppContext } from '../context.ts';
import { controlListener } from './control-listener.ts';
import { claimInboxRows, INBOX_CHANNEL, renewInboxLeases, secondsUntilNextDue, withAsyncCommit } from './inbox.repo.ts';
import { processInboxRows, type InboxPolicy, type RowOutcome } from './process-inbox-row.ts';

export interface InboxConsumerOptions extends InboxPolicy {
  /** Parallel claim loops. */
  loops: number;
  /** Rows claimed (and processed in parallel) per loop iteration. */
  batchSize: number;
  /** Lease on a claimed row, renewed every third of it while the row is worked on: the rows of a killed consumer are claimable again within one lease. */
  leaseSeconds: number;
  /** Longest sleep between polls when no notification arrives. */
  pollMs: number;
}

export interface InboxConsumer {
  /** Wakes sleeping loops (tests, replay). */
  wake(): void;
  /** Rows handled so far, by outcome. */
  stats: Record<RowOutcome, number>;
  stop(): Promise<void>;
}

export async function startInboxConsumer(ctx: AppContext, options: InboxConsumerOptions): Promise<InboxConsumer> {
  let running = true;
  const sleepers = new Set<() => void>();
  const stats: Record<RowOutcome, number> = { done: 0, unroutable: 0, retry: 0, dead: 0 };
  const wake = () => {
    for (const s of sleepers) s();
    sleepers.clear();
  };
  const listener = controlListener(ctx);
  const unsubscribe = listener.on(INBOX_CHANNEL, wake);
  await listener.acquire();

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      sleepers.delete(done);
      resolve();
    }
    sleepers.add(done);
  });

  async function loop(index: number): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        const rows = await withAsyncCommit(ctx.controlDb, (tx) => claimInboxRows(tx, options.batchSize, options.leaseSeconds));
        failures = 0;
        if (rows.length > 0) {
          for (const row of rows) inFlight.add(row.id);
          // A batch that never settles (a connection lost mid-call during a database restart) must not hold
          // its rows forever through the lease heartbeat: past the deadline the rows stop being renewed, come
          // back when their lease expires, and are applied again (applying is idempotent).
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<RowOutcome[]>((resolve) => {
            timer = setTimeout(() => {
              ctx.logger.error({ rows: rows.length, seconds: options.leaseSeconds * 3 }, 'inbox batch did not finish in time; releasing its rows for another attempt');
              resolve([]);
            }, options.leaseSeconds * 3000);
          });
          const outcomes = await Promise.race([processInboxRows(ctx, rows, options).catch((err: Error) => {
            ctx.logger.error({ rows: rows.length, err: err.message }, 'inbox batch crashed; the leases will expire and the rows will be retried');
            return [] as RowOutcome[];
          }), deadline]).finally(() => {
            clearTimeout(timer);
            for (const row of rows) inFlight.delete(row.id);
          });
          for (const o of outcomes) stats[o]++;
          continue;
        }
        // Nothing due: sleep until notified, the next retry is due, or the poll interval passes.
        let wait = options.pollMs;
        if (index === 0) {
          const due = await secondsUntilNextDue(ctx.controlDb);
          if (due !== null) wait = Math.max(5, Math.min(wait, Math.ceil(due * 1000)));
        }
        if (running) await sleep(wait);
      } catch (err) {
        failures++;
        ctx.logger.warn({ err: (err as Error).message }, 'inbox consumer cannot claim rows; backing off');
        if (running) await sleep(Math.min(100 * 2 ** failures, 5000));
      }
    }
  }

  // Heartbeat: keep the leases of rows being worked on; a dead process stops renewing and its rows come back.
  const inFlight = new Set<string>();
  const heartbeat = setInterval(() => {
    if (inFlight.size === 0) return;
    void renewInboxLeases(ctx.controlDb, [...inFlight], options.leaseSeconds).catch((err: Error) => {
      ctx.logger.warn({ err: err.message }, 'could not renew inbox leases');
    });
  }, Math.max(1000, (options.leaseSeconds * 1000) / 3));
  heartbeat.unref();
  const loops = Array.from({ length: options.loops }, (_, i) => loop(i));
  return {
    wake,
    stats,
    async stop() {
      running = false;
      wake();
      await Promise.all(loops);
      clearInterval(heartbeat);
      unsubscribe();
      await listener.release();
      ctx.logger.info(stats, 'webhook inbox consumer stopped');
    },
  };
}
