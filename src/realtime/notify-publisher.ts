/**
 * Publishing from a process without the API role (worker, CLI): events go to
 * PostgreSQL `NOTIFY ecodrix_realtime` on the control database; every API
 * process LISTENs and delivers to its own sockets (see gateway.ts). A payload
 * too large for NOTIFY (8000 bytes) is stored in `realtime_outbox` and only
 * its id is notified, so nothing is lost. Events from one process are sent in
 * order over one connection.
 */
import type pg from 'pg';
import { createPool } from '../platform/db/pool.ts';
import type { RealtimeEvent, RealtimePublisher } from '../platform/events.ts';
import type { Logger } from '../platform/logger.ts';

export const REALTIME_CHANNEL = 'ecodrix_realtime';
/** Above this many bytes the event goes through realtime_outbox (NOTIFY's limit is 8000). */
export const NOTIFY_INLINE_LIMIT = 7000;

/** What travels on the channel: the event inline, or a realtime_outbox row id. */
export type WireMessage = { c: string; e: string; p: unknown; v?: string } | { r: string };

export function toWire(event: RealtimeEvent): { c: string; e: string; p: unknown; v?: string } {
  return { c: event.clientId, e: event.event, p: event.payload, v: event.conversationId };
}

export class NotifyPublisher implements RealtimePublisher {
  private pool?: pg.Pool;
  private chain: Promise<void> = Promise.resolve();
  private readonly connectionString: string;
  private readonly logger: Logger;
  private readonly connectTimeoutMs: number;
  private closed = false;

  constructor(options: { connectionString: string; logger: Logger; connectTimeoutMs: number }) {
    this.connectionString = options.connectionString;
    this.logger = options.logger;
    this.connectTimeoutMs = options.connectTimeoutMs;
  }

  publish(event: RealtimeEvent): void {
    if (this.closed) return;
    this.chain = this.chain.then(() => this.send(event)).catch((err: Error) => {
      this.logger.warn({ err: err.message, event: event.event }, 'realtime publish failed');
    });
  }

  private async send(event: RealtimeEvent): Promise<void> {
    this.pool ??= createPool({
      connectionString: this.connectionString, max: 1, connectTimeoutMs: this.connectTimeoutMs, applicationName: 'ecodrix-realtime-publish',
      onError: (err) => this.logger.warn({ err: err.message }, 'realtime publish connection error'),
    });
    const text = JSON.stringify(toWire(event));
    if (Buffer.byteLength(text) <= NOTIFY_INLINE_LIMIT) {
      await this.pool.query('SELECT pg_notify($1, $2)', [REALTIME_CHANNEL, text]);
      return;
    }
    await this.pool.query(
      `WITH row AS (INSERT INTO realtime_outbox (payload) VALUES ($2) RETURNING id)
       SELECT pg_notify($1, json_build_object('r', id::text)::text) FROM row`,
      [REALTIME_CHANNEL, text],
    );
  }

  /** Waits until every event published so far has been handed to PostgreSQL. */
  async flush(): Promise<void> {
    await this.chain;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    await this.pool?.end().catch(() => {});
  }
}
