/**
 * The Socket.io gateway on the API's HTTP server.
 *
 * - Handshake: `auth: { clientCode, apiKey }` or `auth: { token }` (authenticate-socket.ts);
 *   a connection that has not authenticated within REALTIME_AUTH_TIMEOUT_MS (1 s) is closed.
 * - Rooms: every socket joins `client:<id>`; `conversation.join` (ack `{ ok }`) adds
 *   `conversation:<id>` when that conversation exists in the client's own database.
 * - Publishing: the gateway becomes `ctx.realtime`; events go to the client room (and the
 *   conversation room). With REALTIME_ADAPTER=postgres, `@socket.io/postgres-adapter` carries
 *   them to sockets held by other API instances.
 * - Processes without the API role publish through NOTIFY (notify-publisher.ts); every API
 *   process LISTENs and delivers those events to its own sockets.
 */
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { Server, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/postgres-adapter';
import type { Booted } from '../boot.ts';
import type { AppContext } from '../context.ts';
import { FailureLimiter } from '../auth/failure-limiter.ts';
import { createPool } from '../platform/db/pool.ts';
import type { RealtimeEvent, RealtimePublisher } from '../platform/events.ts';
import { tenantDbById } from '../tenants/index.ts';
import { authenticateSocket } from './authenticate-socket.ts';
import { REALTIME_CHANNEL, type WireMessage } from './notify-publisher.ts';
import { conversationExists, readOutboxEvent, sweepOutbox } from './realtime.repo.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function clientRoom(clientId: string): string {
  return `client:${clientId}`;
}
export function conversationRoom(conversationId: string): string {
  return `conversation:${conversationId}`;
}

interface SocketData {
  clientId: string;
  clientCode: string;
}

export class RealtimeGateway implements RealtimePublisher {
  readonly io: Server;
  private readonly ctx: AppContext;
  private readonly pool: pg.Pool;
  private adapterPool?: GuardedPool;
  private listener?: pg.Client;
  private listenerChain: Promise<void> = Promise.resolve();
  private reconnectTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private closed = false;
  readonly adapter: 'postgres' | 'memory';

  constructor(app: FastifyInstance, ctx: AppContext) {
    this.ctx = ctx;
    const config = ctx.config.realtime;
    this.adapter = config.adapter === 'auto' ? (ctx.config.databaseUrl ? 'postgres' : 'memory') : config.adapter;
    const poolOptions = {
      connectionString: ctx.controlUrl, connectTimeoutMs: ctx.config.dbConnectTimeoutMs, applicationName: 'ecodrix-realtime',
      onError: (err: Error) => ctx.logger.warn({ err: err.message }, 'realtime database connection error'),
    };
    this.pool = createPool({ ...poolOptions, max: 2 });
    this.io = new Server(app.server, {
      path: '/socket.io',
      serveClient: false,
      connectTimeout: config.authTimeoutMs,
      maxHttpBufferSize: 64 * 1024,
      // Origins are checked per client during authentication (authenticate-socket.ts).
      cors: { origin: true, credentials: false },
    });
    if (this.adapter === 'postgres') {
      // The adapter delivers locally only after its NOTIFY query completes, so its queries must run
      // one at a time to keep events in order: one connection held for LISTEN, one for publishing.
      this.adapterPool = releaseDeadClients(createPool({ ...poolOptions, max: 2 }));
      this.io.adapter(createAdapter(this.adapterPool, {
        errorHandler: (err) => ctx.logger.warn({ err: err.message }, 'realtime adapter error'),
      }));
    }
    this.installAuth();
    this.io.on('connection', (socket) => this.onConnection(socket));
  }

  private installAuth(): void {
    const ctx = this.ctx;
    const limiter = new FailureLimiter({
      limit: ctx.config.authFailureLimit, windowSeconds: ctx.config.authFailureWindowSeconds, db: ctx.controlDb, logger: ctx.logger,
    });
    this.io.use((socket, next) => {
      const ip = socket.handshake.address;
      const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
      const code = typeof auth.clientCode === 'string' ? auth.clientCode.toLowerCase() : '';
      const keys = [`ip:${ip}`, `ip:${ip}|code:${code}`];
      const fail = (code: string, message: string) => {
        const err = new Error(message) as Error & { data?: unknown };
        err.data = { code };
        next(err);
      };
      if (limiter.blockedFor(keys) > 0) return fail('RATE_LIMITED', 'Too many failed authentication attempts; try again later');
      const headers = socket.handshake.headers;
      authenticateSocket(ctx, { auth, origin: typeof headers.origin === 'string' ? headers.origin : undefined, host: headers.host })
        .then((result) => {
          if ('failure' in result) {
            if (result.failure !== 'UNAUTHORIZED') return fail(result.failure, 'Origin not allowed for this client');
            return limiter.recordFailure(keys).then((wait) => wait > 0
              ? fail('RATE_LIMITED', 'Too many failed authentication attempts; try again later')
              : fail('UNAUTHORIZED', 'Invalid credentials'));
          }
          const data = socket.data as SocketData;
          data.clientId = result.client.id;
          data.clientCode = result.client.code;
          next();
        })
        .catch((err: Error) => {
          ctx.logger.warn({ err: err.message }, 'realtime authentication error');
          fail('UNAVAILABLE', 'Authentication unavailable');
        });
    });
  }

  private onConnection(socket: Socket): void {
    const data = socket.data as SocketData;
    void socket.join(clientRoom(data.clientId));
    socket.emit('ready', { clientCode: data.clientCode });
    socket.on('conversation.join', (conversationId: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: unknown) => void) : () => {};
      if (typeof conversationId !== 'string' || !UUID.test(conversationId)) return reply({ ok: false, error: 'NOT_FOUND' });
      tenantDbById(this.ctx, data.clientId)
        .then((db) => conversationExists(db, conversationId))
        .then(async (exists) => {
          if (!exists) return reply({ ok: false, error: 'NOT_FOUND' });
          await socket.join(conversationRoom(conversationId));
          reply({ ok: true });
        })
        .catch((err: Error) => {
          this.ctx.logger.warn({ err: err.message, clientCode: data.clientCode }, 'conversation.join failed');
          reply({ ok: false, error: 'UNAVAILABLE' });
        });
    });
    socket.on('conversation.leave', (conversationId: unknown, ack?: unknown) => {
      if (typeof conversationId === 'string') void socket.leave(conversationRoom(conversationId));
      if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: true });
    });
  }

  private rooms(event: { clientId: string; conversationId?: string }): string[] {
    const rooms = [clientRoom(event.clientId)];
    if (event.conversationId) rooms.push(conversationRoom(event.conversationId));
    return rooms;
  }

  /** Delivers to every socket of the client, on every API instance. */
  publish(event: RealtimeEvent): void {
    if (this.closed) return;
    this.io.to(this.rooms(event)).emit(event.event, event.payload);
  }

  /** Delivers to this instance's sockets only (events that reached every instance through NOTIFY). */
  private deliverLocal(wire: { c: string; e: string; p: unknown; v?: string }): void {
    if (typeof wire.c !== 'string' || typeof wire.e !== 'string') return;
    this.io.local.to(this.rooms({ clientId: wire.c, conversationId: wire.v })).emit(wire.e, wire.p);
  }

  /** LISTENs for events published by processes without the API role. */
  async startListening(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.ctx.controlUrl, connectionTimeoutMillis: this.ctx.config.dbConnectTimeoutMs, application_name: 'ecodrix-realtime-listen' });
    client.on('error', (err) => this.ctx.logger.warn({ err: err.message }, 'realtime listener error'));
    client.on('end', () => {
      if (this.listener === client) this.listener = undefined;
      this.scheduleReconnect();
    });
    client.on('notification', (msg) => {
      if (msg.channel !== REALTIME_CHANNEL || !msg.payload) return;
      const payload = msg.payload;
      // One chain keeps events in publication order even when one must be read from the outbox.
      this.listenerChain = this.listenerChain.then(() => this.handleNotification(payload)).catch((err: Error) => {
        this.ctx.logger.warn({ err: err.message }, 'realtime notification dropped');
      });
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REALTIME_CHANNEL}`);
      this.listener = client;
      if (this.closed) await client.end();
    } catch (err) {
      this.ctx.logger.warn({ err: (err as Error).message }, 'realtime listener could not connect; retrying');
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      this.scheduleReconnect();
    }
    this.sweepTimer ??= setInterval(() => {
      sweepOutbox(this.pool, 300).catch(() => {});
    }, 60_000).unref();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.startListening();
    }, 1000);
    this.reconnectTimer.unref();
  }

  private async handleNotification(text: string): Promise<void> {
    const wire = JSON.parse(text) as WireMessage;
    if ('r' in wire) {
      const stored = await readOutboxEvent(this.pool, wire.r);
      if (stored) this.deliverLocal(stored as { c: string; e: string; p: unknown; v?: string });
      return;
    }
    this.deliverLocal(wire);
  }

  /** Open Socket.io connections on this process (for /metrics). */
  connectionCount(): number {
    return this.io.engine.clientsCount;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.sweepTimer);
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      listener.removeAllListeners('end');
      await listener.end().catch(() => {});
    }
    this.io.disconnectSockets(true);
    await Promise.allSettled([...this.io._nsps.values()].map(async (nsp) => nsp.adapter.close()));
    this.io.engine.close();
    await this.listenerChain;
    await this.pool.end().catch(() => {});
    // Never let a connection the adapter still holds keep the process from stopping: one it acquired
    // while we were closing (its LISTEN client arriving late) is destroyed, and it gets no new one.
    if (this.adapterPool) {
      this.adapterPool.shutdown();
      await Promise.race([this.adapterPool.end().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }
}

/** A pool whose checked-out clients can all be dropped at shutdown. */
export type GuardedPool = pg.Pool & { shutdown(): void };

/**
 * The postgres adapter checks out one client for LISTEN and, when that connection dies (database
 * restart), reconnects with a new client without releasing the dead one. The pool would then count it
 * as busy forever — `pool.end()` on shutdown never returns. Release (and destroy) a checked-out client
 * as soon as its connection ends or errors.
 *
 * The adapter also acquires its LISTEN client asynchronously: when the server closes before that
 * finishes, the adapter's close() finds no client and the late one would stay connected, keeping the
 * process alive. `shutdown()` destroys every client still checked out and leaves later checkouts
 * pending forever (the adapter retries on a timer after a failed checkout, so failing it would loop).
 */
export function releaseDeadClients(pool: pg.Pool): GuardedPool {
  const connect = pool.connect.bind(pool) as (callback?: unknown) => Promise<pg.PoolClient>;
  const checkedOut = new Set<pg.PoolClient>();
  let closing = false;
  (pool as unknown as { connect: (callback?: unknown) => unknown }).connect = (callback?: unknown) => {
    // pool.query() checks out with a callback and releases by itself: leave that path untouched.
    if (typeof callback === 'function') return connect(callback);
    return guarded();
  };
  async function guarded(): Promise<pg.PoolClient> {
    if (closing) return new Promise<never>(() => {});
    const client = await connect();
    let released = false;
    const release = client.release.bind(client);
    client.release = (err?: Error | boolean) => {
      if (released) return;
      released = true;
      checkedOut.delete(client);
      client.removeListener('end', onEnd);
      client.removeListener('error', onError);
      release(err);
    };
    const onEnd = () => client.release(new Error('connection ended'));
    const onError = () => client.release(new Error('connection lost'));
    client.once('end', onEnd);
    client.once('error', onError);
    checkedOut.add(client);
    if (closing) {
      client.release(true);
      return new Promise<never>(() => {});
    }
    return client;
  }
  return Object.assign(pool, {
    shutdown() {
      closing = true;
      for (const client of checkedOut) {
        // The adapter's own 'end' listener would schedule a reconnection.
        client.removeAllListeners('end');
        client.on('error', () => {});
        client.release(true);
      }
    },
  });
}

/** `onApiStart` hook: attaches the gateway, makes it `ctx.realtime`, closes it before the HTTP server. */
export async function attachRealtimeGateway(app: FastifyInstance, booted: Booted): Promise<void> {
  const ctx = booted.ctx;
  const gateway = new RealtimeGateway(app, ctx);
  await gateway.startListening();
  ctx.realtime = gateway;
  const connections = ctx.metrics.gauge('ecodrix_socketio_connections', 'Socket.io connections on this API process');
  ctx.metrics.collect(async () => connections.set({}, gateway.connectionCount()));
  app.addHook('preClose', async () => {
    await gateway.close();
  });
  ctx.logger.info({ adapter: gateway.adapter }, 'realtime gateway attached');
}
