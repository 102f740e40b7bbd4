/**
 * One small pool per client database, cached by client id with LRU and idle
 * eviction under a global connection budget. Creation is single-flight;
 * tenant schema migrations run on the first connection of each pool. A pool
 * that cannot connect is dropped so the next request tries again, and its
 * errors never crash the process.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { migrate, TENANT_MIGRATIONS, TENANT_SCHEMA } from './migrate.ts';
import { createPool, redactUrl } from './pool.ts';

export interface TenantPoolsOptions {
  /** Most connections all tenant pools may hold together. */
  budget: number;
  /** Connections per tenant pool. */
  perPoolMax: number;
  /** Pools unused this long are closed by `evictIdle`. */
  idleMs: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

interface Entry {
  pool: pg.Pool;
  /** Changes when the client's datasource changes; a different version evicts the pool. */
  version: string;
  lastUsed: number;
  ready: Promise<void>;
}

export class TenantPools {
  private readonly entries = new Map<string, Entry>();
  private readonly options: TenantPoolsOptions;
  private timer?: NodeJS.Timeout;
  /** Connections of evicted pools that are still closing (they count against the budget until closed). */
  private closing = 0;

  constructor(options: TenantPoolsOptions) {
    this.options = options;
  }

  /** Starts the periodic idle sweep (the cron role does not need it; every role holding pools does). */
  startSweeper(intervalMs = 30_000): void {
    this.timer = setInterval(() => void this.evictIdle(), intervalMs);
    this.timer.unref();
  }

  /**
   * The pool for a client database, migrated and ready.
   * @param key client id (pools are keyed by id, never by code or URI)
   * @param version datasource version; a change closes the old pool
   * @param uri connection URI (only read when a pool has to be created)
   */
  async acquire(key: string, version: string, uri: () => Promise<string>): Promise<pg.Pool> {
    const deadline = Date.now() + this.options.connectTimeoutMs;
    for (;;) {
      let entry = this.entries.get(key);
      if (entry && entry.version !== version) {
        await this.evict(key);
        continue;
      }
      if (!entry) {
        // Check and insert with no await in between, so concurrent acquires cannot overshoot the budget.
        if ((this.entries.size > 0 || this.closing > 0) && this.capacity() + this.options.perPoolMax > this.options.budget) {
          await this.makeRoom(deadline);
          continue;
        }
        entry = this.create(key, version, uri);
        this.entries.set(key, entry);
      }
      entry.lastUsed = Date.now();
      // Move to the end of the map: iteration order is then least recently used first.
      this.entries.delete(key);
      this.entries.set(key, entry);
      await entry.ready;
      return entry.pool;
    }
  }

  private create(key: string, version: string, uri: () => Promise<string>): Entry {
    const { logger } = this.options;
    const entry = { version, lastUsed: Date.now() } as Entry;
    entry.ready = (async () => {
      const connectionString = await uri();
      entry.pool = createPool({
        connectionString,
        max: this.options.perPoolMax,
        connectTimeoutMs: this.options.connectTimeoutMs,
        statementTimeoutMs: this.options.statementTimeoutMs,
        idleTimeoutMs: Math.min(this.options.idleMs, 60_000),
        searchPath: `${TENANT_SCHEMA},public`,
        applicationName: 'ecodrix-tenant',
        onError: (err) => logger.warn({ client: key, err: err.message }, 'tenant database connection error'),
      });
      try {
        await migrate(entry.pool, TENANT_MIGRATIONS, TENANT_SCHEMA);
      } catch (err) {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        void entry.pool.end().catch(() => {});
        logger.warn({ client: key, uri: redactUrl(connectionString), err: (err as Error).message }, 'tenant database unavailable');
        throw new AppError('TENANT_DB_UNAVAILABLE', {
          message: 'The client database is unavailable right now',
          retryAfterSeconds: 5,
          cause: err,
        });
      }
    })();
    // The pool object is needed synchronously by evict(); give it a placeholder until ready.
    entry.ready.catch(() => {});
    return entry;
  }

  /** Closes one least recently used idle pool, or waits a moment for one to become idle. */
  private async makeRoom(deadline: number): Promise<void> {
    // A pool handed out moments ago is about to be used by its caller: never close it under them.
    const now = Date.now();
    const victim = [...this.entries].find(([, e]) => isIdle(e) && now - e.lastUsed >= HANDOUT_GRACE_MS);
    if (victim) return this.evict(victim[0]);
    if (now > deadline) {
      throw new AppError('TENANT_DB_UNAVAILABLE', {
        message: 'Tenant connection budget exhausted; try again shortly',
        retryAfterSeconds: 1,
      });
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  /** Connections the open pools may hold (each may grow to perPoolMax). */
  private capacity(): number {
    return this.entries.size * this.options.perPoolMax + this.closing;
  }

  /** Closes a client's pool (datasource changed, client deleted). */
  async evict(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.closing += this.options.perPoolMax;
    try {
      await entry.ready.catch(() => {});
      await entry.pool?.end().catch(() => {});
    } finally {
      this.closing -= this.options.perPoolMax;
    }
  }

  /** Closes pools unused for longer than idleMs. */
  async evictIdle(now = Date.now()): Promise<number> {
    const stale = [...this.entries].filter(([, e]) => now - e.lastUsed > this.options.idleMs && isIdle(e));
    await Promise.all(stale.map(([key]) => this.evict(key)));
    return stale.length;
  }

  /** Keys (client ids) of the pools open in this process. */
  openKeys(): string[] {
    return [...this.entries.keys()];
  }

  stats(): { pools: number; connections: number; idle: number; waiting: number } {
    let connections = 0, idle = 0, waiting = 0;
    for (const entry of this.entries.values()) {
      if (!entry.pool) continue;
      connections += entry.pool.totalCount;
      idle += entry.pool.idleCount;
      waiting += entry.pool.waitingCount;
    }
    return { pools: this.entries.size, connections, idle, waiting };
  }

  async closeAll(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.entries.keys()].map((key) => this.evict(key)));
  }
}

/** How long after `acquire` a pool is protected from budget eviction (its caller has yet to query). */
const HANDOUT_GRACE_MS = 250;

function isIdle(entry: Entry): boolean {
  if (!entry.pool) return false;
  return entry.pool.waitingCount === 0 && entry.pool.totalCount === entry.pool.idleCount;
}
