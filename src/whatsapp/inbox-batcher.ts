/**
 * Group commit for the webhook inbox: requests arriving together are written
 * in one multi-row INSERT (one transaction, one fsync), and each request is
 * answered only after its batch committed. A batch starts on the next tick
 * when a write slot is free; while all slots are busy, requests accumulate
 * into the next batch, so batches grow exactly as fast as load does.
 */
import type pg from 'pg';
import { insertInboxRows, type NewInboxRow } from './inbox.repo.ts';

interface Waiting extends NewInboxRow {
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface InboxBatcherOptions {
  /** Most rows per INSERT. */
  maxBatch?: number;
  /** Batches being written at once. */
  maxInFlight?: number;
  /** Most body bytes per batch (large bodies go in smaller batches). */
  maxBatchBytes?: number;
}

export class InboxBatcher {
  private readonly db: pg.Pool;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly maxBatchBytes: number;
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly idle = new Set<() => void>();

  constructor(db: pg.Pool, options: InboxBatcherOptions = {}) {
    this.db = db;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxInFlight = options.maxInFlight ?? 3;
    this.maxBatchBytes = options.maxBatchBytes ?? 8 * 1024 * 1024;
  }

  /** Resolves once the row is committed; rejects when the write failed. */
  write(row: NewInboxRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...row, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && n < this.maxBatch && (n === 0 || bytes + this.queue[n].body.length <= this.maxBatchBytes)) {
        bytes += this.queue[n].body.length;
        n++;
      }
      const batch = this.queue.splice(0, n);
      this.inFlight++;
      insertInboxRows(this.db, batch).then((count) => {
        if (count !== batch.length) throw new Error(`inbox insert wrote ${count} of ${batch.length} rows`);
        for (const w of batch) w.resolve();
      }).catch((err: Error) => {
        for (const w of batch) w.reject(err);
      }).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.schedule();
        else if (this.inFlight === 0) for (const done of this.idle) done();
      });
      // Leave later arrivals for the next batch only when all slots are busy.
      if (this.inFlight >= this.maxInFlight) break;
    }
  }

  /** Waits until every accepted write has finished. */
  async drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }
}
