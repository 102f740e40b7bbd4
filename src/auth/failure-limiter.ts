/**
 * Counts failed authentications per address and per (address, client code) in
 * windows that start at a key's first failure; past the limit the caller gets
 * 429 with Retry-After. Only failures count, so a tenant is never locked out by
 * someone else's mistakes from another address. HTTP and Socket.io handshakes
 * count on the same keys.
 *
 * Shared by every instance through the control table `auth_failures`: each
 * failure is one upsert that returns the key's count across all instances, and
 * a key found over the limit is then refused locally until its window ends.
 * The check before authenticating reads only this process's memory, so a
 * successful request costs no extra round trip. Consequence: an instance that
 * has not seen a key fail yet lets one more attempt through, which it counts
 * and answers 429 (as each instance learns the key is over the limit). If the
 * database cannot be reached, counting falls back to this process alone.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../platform/db/pool.ts';
import { countFailures, pruneFailures } from './auth-failures.repo.ts';

export interface FailureLimiterOptions {
  limit: number;
  windowSeconds: number;
  /** The control database; without it counts are kept by this process only. */
  db?: Db;
  logger?: Pick<Logger, 'warn'>;
}

/** Expired shared counters are deleted at most this often per process (on a failure). */
const PRUNE_EVERY_MS = 60_000;
/** Local entries kept before expired ones are swept. */
const LOCAL_SWEEP_AT = 100_000;
/** Keys longer than this (a huge client-code header) are stored as a hash. */
const MAX_KEY_LENGTH = 200;

export class FailureLimiter {
  /** This process's view: counts (shared ones as last read from the database) and window ends. */
  private readonly counts = new Map<string, { count: number; resetAt: number }>();
  private readonly limit: number;
  private readonly windowSeconds: number;
  private readonly db?: Db;
  private readonly logger?: Pick<Logger, 'warn'>;
  private lastPrune = 0;
  private lastWarning = 0;

  constructor(options: FailureLimiterOptions) {
    this.limit = options.limit;
    this.windowSeconds = options.windowSeconds;
    this.db = options.db;
    this.logger = options.logger;
  }

  /** Seconds until `keys` may try again, or 0 when none is over the limit. No I/O. */
  blockedFor(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const key of keys) {
      const entry = this.counts.get(this.normalise(key));
      if (entry && entry.resetAt > now && entry.count >= this.limit) wait = Math.max(wait, Math.ceil((entry.resetAt - now) / 1000));
    }
    return wait;
  }

  /**
   * Counts one failure for each of `keys` (on every instance when shared).
   * @returns seconds to wait when the keys were already over the limit before this failure
   *   (counted elsewhere, or concurrent attempts), so the caller answers 429 rather than 401; else 0
   */
  async recordFailure(keys: string[], now = Date.now()): Promise<number> {
    const normalised = [...new Set(keys.map((k) => this.normalise(k)))];
    let shared = false;
    if (this.db) {
      try {
        const counted = await countFailures(this.db, normalised, this.windowSeconds);
        now = Date.now();
        for (const row of counted) this.counts.set(row.key, { count: row.count, resetAt: now + row.remainingMs });
        shared = true;
      } catch (err) {
        if (now - this.lastWarning > 10_000) {
          this.lastWarning = now;
          this.logger?.warn({ err: (err as Error).message }, 'shared auth failure count unavailable; counting in this process only');
        }
      }
      this.maybePrune(now);
    }
    if (!shared) {
      for (const key of normalised) {
        const entry = this.counts.get(key);
        if (!entry || entry.resetAt <= now) this.counts.set(key, { count: 1, resetAt: now + this.windowSeconds * 1000 });
        else entry.count++;
      }
    }
    if (this.counts.size > LOCAL_SWEEP_AT) this.sweep(now);
    let wait = 0;
    for (const key of normalised) {
      const entry = this.counts.get(key)!;
      if (entry.count > this.limit) wait = Math.max(wait, Math.max(1, Math.ceil((entry.resetAt - now) / 1000)));
    }
    return wait;
  }

  private normalise(key: string): string {
    return key.length <= MAX_KEY_LENGTH ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
  }

  private maybePrune(now: number): void {
    if (!this.db || now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    pruneFailures(this.db).catch((err: Error) => this.logger?.warn({ err: err.message }, 'pruning auth failure counters failed'));
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.counts) if (entry.resetAt <= now) this.counts.delete(key);
  }
}
