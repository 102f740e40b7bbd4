/**
 * The durable job queue: pg-boss on the control database, one queue per job
 * type, LISTEN/NOTIFY for millisecond pickup, heartbeats so a job whose worker
 * died is re-run, dead letters, retention. Domain code declares jobs with
 * `defineJob` (one file per job) and the composition root lists them in
 * `src/jobs.ts`; `enqueue` is type-checked against the definition.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PgBoss } from 'pg-boss';
import type { Job, JobInsert, SendOptions } from 'pg-boss';
import type pg from 'pg';
import type { Logger } from 'pino';

export interface JobRetryPolicy {
  /** Attempts in all, the first included (original default 3). */
  attempts: number;
  /** Base backoff in seconds, doubled each retry (original default 5 s × 2ⁿ). */
  backoffSeconds: number;
  /** Seconds an attempt may run before it counts as failed. */
  expireInSeconds: number;
}

export interface JobDefinition<TData extends object, TContext> {
  /** Queue name, `<domain>.<verb-noun>`. */
  name: string;
  /** Parallel jobs per process for this queue. */
  concurrency?: number;
  /** Jobs fetched per poll by each loop when `batchHandler` is given (default 32); `handler` gets one job at a time. */
  batchSize?: number;
  /** Per-process overrides of `concurrency` / `batchSize` read from the context (configuration) when the worker starts. */
  workerOptions?: (context: TContext) => { concurrency?: number; batchSize?: number };
  retry?: Partial<JobRetryPolicy>;
  /**
   * Queue that receives the job when its last attempt failed (thrown or expired: a worker that
   * died mid-job); its handler can record the failure. Must be another registered definition.
   */
  deadLetter?: string;
  /** Runs the job. Throw to retry (until attempts are used up). */
  handler: (data: TData, context: TContext, job: Job<TData>, attempt: AttemptInfo) => Promise<unknown>;
  /**
   * Optional: runs a whole fetched batch (up to `batchSize` jobs) in one call, so the handler can
   * share round trips between jobs; the queue then fetches and settles the batch in one statement
   * each. Resolve with one outcome per job, in order: `ok: false` retries that job alone (and calls
   * `onFailed` on its last attempt), exactly like a throw from `handler`. `handler` stays the
   * definition of one job (tests, direct calls).
   */
  batchHandler?: (jobs: Array<{ data: TData; job: Job<TData>; attempt: AttemptInfo }>, context: TContext) => Promise<BatchOutcome[]>;
  /**
   * pg-boss queue policy; `stately` with a `singletonKey` per enqueue keeps at most one queued and
   * one active job per key (a debounced per-tenant worker). Fixed when the queue is first created.
   */
  policy?: 'standard' | 'stately' | 'singleton' | 'exclusive';
  /** Called once when the last attempt failed. */
  onFailed?: (data: TData, context: TContext, error: unknown) => Promise<void>;
}

/** What a `batchHandler` says about one job of its batch. */
export type BatchOutcome = { ok: true; output?: unknown } | { ok: false; error: unknown };

/** Which attempt a handler is running. */
export interface AttemptInfo {
  /** 1 for the first attempt. */
  number: number;
  /** True when no retry follows if this attempt fails. */
  isLast: boolean;
}

/** Declares a job; see JobDefinition. */
export function defineJob<TData extends object, TContext>(definition: JobDefinition<TData, TContext>): JobDefinition<TData, TContext> {
  return definition;
}

export interface EnqueueOptions {
  /** Run at (or after) this time. */
  startAfter?: Date;
  /**
   * Deterministic key: the job id is derived from it, so enqueueing the same key twice
   * creates one job (for as long as the job is retained).
   */
  key?: string;
  /** Enqueue inside this control-database transaction. */
  tx?: pg.PoolClient;
  priority?: number;
  /** Attempts in all for this job (overrides the definition's). */
  attempts?: number;
  /** Groups jobs for the queue's policy (e.g. one dispatcher per tenant with `stately`). */
  singletonKey?: string;
  /**
   * Share one INSERT with the other enqueues of this queue made meanwhile (group commit), for hot
   * paths with many concurrent callers. Resolves once the job is stored, like a plain enqueue.
   * Not with `tx`.
   */
  coalesce?: boolean;
}

export interface QueueSettings {
  concurrency: number;
  attempts: number;
  backoffSeconds: number;
  expireInSeconds: number;
  /** Days completed jobs are kept (history, dedupe of keyed jobs). */
  retentionDays: number;
  /** Workers refresh a heartbeat this often / 2; a job without one for this long is retried (dead worker). */
  heartbeatSeconds: number;
  /** How often expired and heartbeat-less jobs are looked for. */
  superviseSeconds: number;
  /** How often cron processes evaluate schedules (pg-boss cronMonitorIntervalSeconds, 1-45). */
  cronPassSeconds: number;
}

/** Turns a deterministic key into the UUID pg-boss uses as job id. */
export function jobIdForKey(queue: string, key: string): string {
  const hex = createHash('sha256').update(`${queue}\0${key}`).digest('hex');
  // Shape it as a version-8 (custom) UUID.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** How often a worker process looks for delayed jobs about to become due. */
const SCAN_MS = 1000;

export class JobQueue<TContext> {
  readonly boss: PgBoss;
  private readonly definitions = new Map<string, JobDefinition<any, TContext>>();
  private readonly settings: QueueSettings;
  private readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  private context?: TContext;
  private started = false;
  /** Worker loop ids per queue consumed by this process (for punctual wake-ups of delayed jobs). */
  private readonly workerIds = new Map<string, string[]>();
  private readonly wakeTimers = new Map<string, NodeJS.Timeout>();
  private scanner?: NodeJS.Timeout;
  /** Coalesced enqueues waiting for their queue's next INSERT, and the queues with one in flight. */
  private readonly pendingInserts = new Map<string, Array<{ job: JobInsert; resolve: () => void; reject: (err: unknown) => void }>>();
  private readonly inserting = new Set<string>();

  constructor(options: { connectionString: string; settings: QueueSettings; logger: Pick<Logger, 'info' | 'warn' | 'error'>; schedule: boolean; max?: number }) {
    this.settings = options.settings;
    this.logger = options.logger;
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: 'pgboss',
      max: options.max ?? 10,
      useListenNotify: true,
      schedule: options.schedule,
      supervise: true,
      superviseIntervalSeconds: options.settings.superviseSeconds,
      // Expired and heartbeat-less jobs are failed in pg-boss's per-queue monitor pass, which is gated
      // by monitorIntervalSeconds (default 60 s), not by the supervise timer: tie both to
      // JOB_SUPERVISE_SECONDS so a dead worker's job is retried within that interval as documented.
      monitorIntervalSeconds: options.settings.superviseSeconds,
      // Backlog stats every 2 s: workers use them to keep fetching while jobs wait (burst below).
      queueCacheIntervalSeconds: 2,
      // Schedules: one pass per interval across all instances, each occurrence filed once per 60 s slot;
      // the due occurrences are forwarded to their queues by a poll at most 5 s apart.
      cronMonitorIntervalSeconds: options.settings.cronPassSeconds,
      cronWorkerIntervalSeconds: Math.min(5, options.settings.cronPassSeconds),
      application_name: 'ecodrix-queue',
      connectionTimeoutMillis: 5000,
    });
    this.boss.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'job queue error'));
  }

  /** Adds job definitions (before start). */
  register(definitions: JobDefinition<any, TContext>[]): void {
    for (const definition of definitions) {
      if (this.definitions.has(definition.name)) throw new Error(`job ${definition.name} registered twice`);
      this.definitions.set(definition.name, definition);
    }
  }

  definition(name: string): JobDefinition<any, TContext> | undefined {
    return this.definitions.get(name);
  }

  get names(): string[] {
    return [...this.definitions.keys()];
  }

  /** Starts pg-boss and creates every queue; with `work`, starts consuming with `context`. */
  async start(context: TContext, options: { work: boolean }): Promise<void> {
    this.context = context;
    await this.boss.start();
    this.started = true;
    // One read of every queue; only missing queues are created and only changed settings written (a restart
    // usually writes nothing). Dead-letter targets must exist before the queues that name them: waves, each
    // created concurrently.
    const existing = new Map((await this.boss.getQueues()).map((q) => [q.name, q as unknown as Record<string, unknown>]));
    const setups: Array<{ definition: JobDefinition<any, TContext>; queue: Record<string, unknown> }> = [];
    for (const definition of this.definitions.values()) {
      if (definition.deadLetter && !this.definitions.has(definition.deadLetter)) throw new Error(`job ${definition.name}: dead letter queue ${definition.deadLetter} is not registered`);
      const retry = this.retryOf(definition);
      setups.push({ definition, queue: {
        retryLimit: retry.attempts - 1,
        retryDelay: retry.backoffSeconds,
        retryBackoff: true,
        expireInSeconds: retry.expireInSeconds,
        heartbeatSeconds: Math.max(10, this.settings.heartbeatSeconds),
        deleteAfterSeconds: this.settings.retentionDays * 86_400,
        notify: true,
        ...(definition.deadLetter ? { deadLetter: definition.deadLetter } : {}),
      } });
    }
    const ready = new Set<string>();
    for (let left = setups; left.length > 0;) {
      const wave = left.filter((s) => !s.definition.deadLetter || ready.has(s.definition.deadLetter));
      if (wave.length === 0) throw new Error(`dead letter queues form a cycle: ${left.map((s) => s.definition.name).join(', ')}`);
      left = left.filter((s) => !wave.includes(s));
      await Promise.all(wave.map(async ({ definition, queue }) => {
        const current = existing.get(definition.name);
        if (!current) {
          await this.boss.createQueue(definition.name, { ...queue, ...(definition.policy ? { policy: definition.policy } : {}) }).catch((err: Error) => {
            if (!/already exists|duplicate/i.test(err.message)) throw err;
          });
        } else if (Object.entries(queue).some(([key, value]) => current[key] !== value)) {
          await this.boss.updateQueue(definition.name, queue);
        }
        ready.add(definition.name);
      }));
    }
    if (options.work) {
      for (const definition of this.definitions.values()) await this.work(definition);
      await this.startDueScanner();
    }
  }

  /**
   * Punctual delayed jobs. pg-boss wakes workers through NOTIFY when a job is inserted, but a job
   * whose start time is in the future (a reminder, a retry after backoff) would wait for the next
   * backstop poll (seconds). So every `SCAN_MS` this process looks for jobs of its queues that
   * become due within the look-ahead and sets a timer to wake the queue's worker at that moment.
   * One indexed query per second per worker process, whatever the number of queues or tenants.
   */
  private async startDueScanner(): Promise<void> {
    const db = this.boss.getDb();
    await db.executeSql(`CREATE INDEX IF NOT EXISTS ecodrix_job_due ON pgboss.job (start_after) WHERE state < 'active'`)
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'could not create the due-job index (delayed jobs still run, scanning is slower)'));
    const scan = async () => {
      if (!this.started) return;
      try {
        const { rows } = await db.executeSql(
          // Already-due jobs collapse to one wake-up per queue (a retry due before this scan, say).
          `SELECT name, date_trunc('milliseconds', greatest(start_after, now())) AS start_after FROM pgboss.job
           WHERE state < 'active' AND start_after <= now() + make_interval(secs => $1) AND name = ANY($2)
           GROUP BY 1, 2 ORDER BY 2 LIMIT 1000`,
          [(SCAN_MS * 2) / 1000, [...this.workerIds.keys()]],
        );
        for (const row of rows as Array<{ name: string; start_after: Date }>) this.wakeAt(row.name, row.start_after);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'due-job scan failed');
      }
    };
    await scan();
    this.scanner = setInterval(() => void scan(), SCAN_MS);
    this.scanner.unref();
  }

  /** Wakes this process's worker of `name` at `at` (a few ms after, so the job is due). */
  private wakeAt(name: string, at: Date): void {
    if (!this.workerIds.has(name)) return;
    const key = `${name}|${at.getTime()}`;
    if (this.wakeTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.wakeTimers.delete(key);
      this.wake(name);
    }, Math.max(0, at.getTime() - Date.now() + 10));
    timer.unref();
    this.wakeTimers.set(key, timer);
  }

  private retryOf(definition: JobDefinition<any, TContext>): JobRetryPolicy {
    return {
      attempts: definition.retry?.attempts ?? this.settings.attempts,
      backoffSeconds: definition.retry?.backoffSeconds ?? this.settings.backoffSeconds,
      expireInSeconds: definition.retry?.expireInSeconds ?? this.settings.expireInSeconds,
    };
  }

  /** Makes every local worker loop of `name` fetch now (instead of after its backstop poll). */
  private wake(name: string): void {
    if (!this.started) return;
    for (const id of this.workerIds.get(name) ?? []) this.boss.notifyWorker(id);
  }

  private async work(definition: JobDefinition<any, TContext>): Promise<void> {
    if (definition.batchHandler) return this.workBatches(definition);
    const retry = this.retryOf(definition);
    const workerId = await this.boss.work(definition.name, {
      localConcurrency: definition.workerOptions?.(this.context!).concurrency ?? definition.concurrency ?? this.settings.concurrency,
      batchSize: 1,
      includeMetadata: true,
      pollingIntervalSeconds: 2,
      notifyPollingIntervalSeconds: 10,
      // Without this a worker that just finished a job sleeps notifyPollingIntervalSeconds unless a
      // new job is inserted meanwhile, so a backlog with no new inserts drains at concurrency per 10 s.
      burstWhenReadyExceeds: 1,
    }, async (jobs) => {
      for (const job of jobs) {
        const limit = (job as { retryLimit?: number }).retryLimit ?? retry.attempts - 1;
        const isLast = job.retryCount >= limit;
        try {
          return await definition.handler(job.data, this.context!, job, { number: job.retryCount + 1, isLast });
        } catch (err) {
          this.logger.warn({ job: definition.name, id: job.id, attempt: job.retryCount + 1, err: (err as Error).message }, isLast ? 'job failed for good' : 'job attempt failed; will retry');
          if (isLast && definition.onFailed) await definition.onFailed(job.data, this.context!, err).catch(() => {});
          throw err;
        } finally {
          // pg-boss sleeps a loop after a single-job fetch until NOTIFY or the backstop poll (10 s);
          // there may be more jobs ready (a backlog, retries), so look again at once.
          setImmediate(() => this.wake(definition.name));
        }
      }
    });
    const loops = this.boss.getWipData().filter((w) => w.workId === workerId).map((w) => w.id);
    this.workerIds.set(definition.name, loops.length ? loops : [workerId]);
  }

  /**
   * A definition with `batchHandler`: each loop fetches up to `batchSize` jobs in one statement,
   * runs them in one call, and pg-boss settles the outcomes in one statement per kind (completed,
   * failed) — not two round trips per job.
   */
  private async workBatches(definition: JobDefinition<any, TContext>): Promise<void> {
    const retry = this.retryOf(definition);
    const overrides = definition.workerOptions?.(this.context!) ?? {};
    const workerId = await this.boss.work(definition.name, {
      localConcurrency: overrides.concurrency ?? definition.concurrency ?? this.settings.concurrency,
      batchSize: overrides.batchSize ?? definition.batchSize ?? 32,
      includeMetadata: true,
      perJobResults: true,
      pollingIntervalSeconds: 2,
      notifyPollingIntervalSeconds: 10,
      burstWhenReadyExceeds: 1,
      burstWhenBatchFull: true,
    }, async (jobs) => {
      const items = jobs.map((job) => {
        const limit = (job as { retryLimit?: number }).retryLimit ?? retry.attempts - 1;
        return { data: job.data, job, attempt: { number: job.retryCount + 1, isLast: job.retryCount >= limit } };
      });
      let outcomes: BatchOutcome[];
      try {
        outcomes = await definition.batchHandler!(items, this.context!);
      } catch (err) {
        outcomes = items.map(() => ({ ok: false, error: err }));
      } finally {
        // As in work(): a partial fetch puts the loop to sleep; more may be ready (a backlog, retries).
        setImmediate(() => this.wake(definition.name));
      }
      return Promise.all(items.map(async ({ job, data, attempt }, i) => {
        const outcome = outcomes[i] ?? { ok: false, error: new Error('the batch handler returned no outcome for this job') };
        if (outcome.ok) return { id: job.id, status: 'completed' as const, output: outcome.output ?? null };
        const err = outcome.error;
        this.logger.warn({ job: definition.name, id: job.id, attempt: attempt.number, err: (err as Error)?.message }, attempt.isLast ? 'job failed for good' : 'job attempt failed; will retry');
        if (attempt.isLast && definition.onFailed) await definition.onFailed(data, this.context!, err).catch(() => {});
        return { id: job.id, status: 'failed' as const, output: { message: (err as Error)?.message ?? String(err) } };
      }));
    });
    const loops = this.boss.getWipData().filter((w) => w.workId === workerId).map((w) => w.id);
    this.workerIds.set(definition.name, loops.length ? loops : [workerId]);
  }

  /**
   * Enqueues a job. With a `key`, a second enqueue of the same key is a no-op.
   * @returns the job id (also when the keyed job already existed)
   */
  async enqueue<TData extends object>(definition: JobDefinition<TData, TContext>, data: TData, options: EnqueueOptions = {}): Promise<string> {
    if (!this.started) throw new Error('job queue not started');
    const id = options.key ? jobIdForKey(definition.name, options.key) : undefined;
    // pg-boss rejects `priority: undefined` (it checks the key, not the value).
    const send: SendOptions = { id, startAfter: options.startAfter };
    if (options.priority !== undefined) send.priority = options.priority;
    if (options.attempts !== undefined) send.retryLimit = options.attempts - 1;
    if (options.singletonKey !== undefined) send.singletonKey = options.singletonKey;
    if (options.coalesce && !options.tx) {
      const job: JobInsert = { id: id ?? randomUUID(), data, startAfter: options.startAfter, priority: options.priority, retryLimit: send.retryLimit, singletonKey: options.singletonKey };
      await this.insertCoalesced(definition.name, job);
      if (options.startAfter && options.startAfter.getTime() - Date.now() < SCAN_MS * 2) this.wakeAt(definition.name, options.startAfter);
      return job.id!;
    }
    if (options.tx) {
      const tx = options.tx;
      send.db = { executeSql: (text: string, values?: unknown[]) => tx.query(text, values as any[]) };
    }
    const created = await this.boss.send(definition.name, data, send);
    if (options.startAfter && !options.tx && options.startAfter.getTime() - Date.now() < SCAN_MS * 2) this.wakeAt(definition.name, options.startAfter);
    return created ?? id!;
  }

  /** Group commit: one `insert` for the jobs enqueued while the previous one was in flight. */
  private insertCoalesced(name: string, job: JobInsert): Promise<void> {
    return new Promise((resolve, reject) => {
      let pending = this.pendingInserts.get(name);
      if (!pending) {
        pending = [];
        this.pendingInserts.set(name, pending);
      }
      pending.push({ job, resolve, reject });
      if (!this.inserting.has(name)) void this.flushInserts(name);
    });
  }

  private async flushInserts(name: string): Promise<void> {
    this.inserting.add(name);
    try {
      for (;;) {
        const pending = this.pendingInserts.get(name) ?? [];
        if (pending.length === 0) break;
        // Ids must be unique within one insert: a repeated key waits for the next one (a no-op then).
        const seen = new Set<string>();
        const batch: typeof pending = [];
        const rest: typeof pending = [];
        for (const entry of pending) {
          if (batch.length < 500 && !seen.has(entry.job.id!)) {
            seen.add(entry.job.id!);
            batch.push(entry);
          } else {
            rest.push(entry);
          }
        }
        this.pendingInserts.set(name, rest);
        try {
          await this.boss.insert(name, batch.map((e) => e.job));
          for (const e of batch) e.resolve();
        } catch (err) {
          for (const e of batch) e.reject(err);
        }
      }
    } finally {
      this.inserting.delete(name);
    }
  }

  /** Registers a distributed-safe cron schedule (each tick runs once across all instances). */
  async schedule(definition: JobDefinition<any, TContext>, cron: string, data: object = {}): Promise<void> {
    await this.boss.schedule(definition.name, cron, data, { tz: 'UTC' });
  }

  /** Cancels queued (not yet active) jobs. */
  async cancel(name: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.boss.cancel(name, ids);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.scanner) clearInterval(this.scanner);
    for (const timer of this.wakeTimers.values()) clearTimeout(timer);
    this.wakeTimers.clear();
    await this.boss.stop({ graceful: true, timeout: 20_000, close: true });
  }
}
