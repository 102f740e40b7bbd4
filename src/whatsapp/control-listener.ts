/**
 * One LISTEN connection per process to the control database, shared by the
 * webhook route (route-cache invalidation) and the inbox consumer (wake-ups).
 * Reconnects with backoff; after a reconnect every handler is called once,
 * since notifications sent while disconnected are lost.
 */
import pg from 'pg';
import type { AppContext } from '../context.ts';

type Handler = (payload: string) => void;

export class ControlListener {
  private readonly ctx: AppContext;
  private readonly handlers = new Map<string, Set<Handler>>();
  private client?: pg.Client;
  private users = 0;
  private closed = false;
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;

  constructor(ctx: AppContext) {
    this.ctx = ctx;
  }

  /** Subscribes `handler` to `channel`; returns an unsubscribe function. */
  on(channel: string, handler: Handler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.client) void this.client.query(`LISTEN ${channel}`).catch(() => {});
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Starts (or joins) the connection; pair with release(). */
  async acquire(): Promise<void> {
    this.users++;
    this.closed = false;
    if (!this.client) await this.connect();
  }

  async release(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.ctx.controlUrl, application_name: 'ecodrix-listen', connectionTimeoutMillis: this.ctx.config.dbConnectTimeoutMs });
      client.on('error', (err) => {
        this.ctx.logger.warn({ err: err.message }, 'control LISTEN connection lost');
        this.scheduleReconnect(client);
      });
      client.on('end', () => this.scheduleReconnect(client));
      client.on('notification', (msg) => {
        for (const handler of this.handlers.get(msg.channel) ?? []) handler(msg.payload ?? '');
      });
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
        if (this.closed) {
          await client.end().catch(() => {});
          return;
        }
        this.client = client;
        for (const set of this.handlers.values()) for (const handler of set) handler('');
      } catch (err) {
        this.ctx.logger.warn({ err: (err as Error).message }, 'control LISTEN connection failed; retrying');
        this.scheduleReconnect(client);
      }
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private scheduleReconnect(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed && !this.client) void this.connect();
    }, 500);
    this.retryTimer.unref();
  }
}

const listeners = new WeakMap<AppContext, ControlListener>();

/** The process's listener for this context. */
export function controlListener(ctx: AppContext): ControlListener {
  let listener = listeners.get(ctx);
  if (!listener) {
    listener = new ControlListener(ctx);
    listeners.set(ctx, listener);
  }
  return listener;
}
