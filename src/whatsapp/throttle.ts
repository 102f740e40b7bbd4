/**
 * Outbound pacing, per process: a token bucket per sending number (Meta's
 * throughput limit, 80 messages/s by default) and one per (number, recipient)
 * pair (Meta's pair rate limit, about one message per 6 s after a short burst).
 * `reserve` takes a token from both and says how long to wait before sending.
 * The send job paces numbers across instances with `send-pace.ts` (control
 * database) and uses only `reservePair` from here.
 */

interface Bucket { tokens: number; updated: number }

export class SendThrottle {
  private readonly numbers = new Map<string, Bucket>();
  private readonly pairs = new Map<string, Bucket>();
  private readonly ratePerSecond: number;
  private readonly pairBurst: number;
  private readonly pairIntervalMs: number;

  constructor(options: { ratePerSecond: number; pairBurst: number; pairIntervalMs: number }) {
    this.ratePerSecond = options.ratePerSecond;
    this.pairBurst = options.pairBurst;
    this.pairIntervalMs = options.pairIntervalMs;
  }

  /**
   * Reserves one send from `phoneNumberId` to `recipient` (when given).
   * @returns milliseconds to wait before sending (0 = now)
   */
  reserve(phoneNumberId: string, recipient: string | undefined, now = Date.now()): number {
    const numberWait = take(this.numbers, phoneNumberId, now, this.ratePerSecond, 1000 / this.ratePerSecond);
    let pairWait = 0;
    if (recipient && this.pairIntervalMs > 0) {
      pairWait = take(this.pairs, `${phoneNumberId}|${recipient}`, now, this.pairBurst, this.pairIntervalMs);
      if (this.pairs.size > 100_000) this.sweep(now);
    }
    return Math.max(numberWait, pairWait);
  }

  /**
   * Reserves one send to `recipient` from `phoneNumberId` in the pair bucket only.
   * @returns milliseconds to wait before sending (0 = now)
   */
  reservePair(phoneNumberId: string, recipient: string | undefined, now = Date.now()): number {
    if (!recipient || this.pairIntervalMs <= 0) return 0;
    const wait = take(this.pairs, `${phoneNumberId}|${recipient}`, now, this.pairBurst, this.pairIntervalMs);
    if (this.pairs.size > 100_000) this.sweep(now);
    return wait;
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.pairs) {
      if (now - bucket.updated > this.pairIntervalMs * this.pairBurst) this.pairs.delete(key);
    }
  }
}

/** Takes a token (possibly going negative = a reservation in the future); returns the wait. */
function take(map: Map<string, Bucket>, key: string, now: number, capacity: number, refillMs: number): number {
  let bucket = map.get(key);
  if (!bucket) {
    bucket = { tokens: capacity, updated: now };
    map.set(key, bucket);
  }
  bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updated) / refillMs);
  bucket.updated = now;
  bucket.tokens -= 1;
  return bucket.tokens >= 0 ? 0 : Math.ceil(-bucket.tokens * refillMs);
}
