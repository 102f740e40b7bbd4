/**
 * Counts failed authentications per address and per (address, client code) in
 * fixed windows; past the limit the caller gets 429 with Retry-After. Only
 * failures count, so a tenant is never locked out by someone else's mistakes
 * from another address. Per process: several instances each keep their own count.
 */
export class FailureLimiter {
  private readonly counts = new Map<string, { count: number; resetAt: number }>();
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(limit: number, windowSeconds: number) {
    this.limit = limit;
    this.windowMs = windowSeconds * 1000;
  }

  /** Seconds until `keys` may try again, or 0 when none is over the limit. */
  blockedFor(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const key of keys) {
      const entry = this.counts.get(key);
      if (entry && entry.resetAt > now && entry.count >= this.limit) wait = Math.max(wait, Math.ceil((entry.resetAt - now) / 1000));
    }
    return wait;
  }

  recordFailure(keys: string[], now = Date.now()): void {
    for (const key of keys) {
      const entry = this.counts.get(key);
      if (!entry || entry.resetAt <= now) this.counts.set(key, { count: 1, resetAt: now + this.windowMs });
      else entry.count++;
    }
    if (this.counts.size > 100_000) this.sweep(now);
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.counts) if (entry.resetAt <= now) this.counts.delete(key);
  }
}
