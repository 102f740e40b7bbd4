/**
 * node-postgres pools with safe settings: a connect timeout (the driver's
 * default waits forever), a statement timeout, and error listeners on the pool
 * and on every client (an error without one crashes the process).
 */
import pg from 'pg';

/** Anything that runs queries: a pool, or a client inside a transaction. */
export type Db = pg.Pool | pg.PoolClient;

export interface CreatePoolOptions {
  connectionString: string;
  max: number;
  connectTimeoutMs: number;
  statementTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Schemas searched for unqualified names (tenant databases use `ecodrix`). */
  searchPath?: string;
  applicationName?: string;
  /** Called for errors on idle clients (database restarted, network cut). */
  onError?: (err: Error) => void;
}

export function createPool(options: CreatePoolOptions): pg.Pool {
  const flags: string[] = [];
  if (options.statementTimeoutMs) flags.push(`-c statement_timeout=${options.statementTimeoutMs}`);
  if (options.searchPath) flags.push(`-c search_path=${options.searchPath}`);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    application_name: options.applicationName ?? 'ecodrix',
    options: flags.length ? flags.join(' ') : undefined,
  });
  pool.on('error', (err) => options.onError?.(err));
  // A client held checked out (e.g. for LISTEN by a library) that loses its connection emits 'error'
  // with no listener, which would crash the process: give every client one.
  pool.on('connect', (client) => client.on('error', (err) => options.onError?.(err)));
  return pool;
}

/** Runs `fn` in a transaction on one client of `pool`; commits on success, rolls back on error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient, prelude?: pg.QueryResult) => Promise<T>, options: {
  asyncCommit?: boolean;
  /**
   * SQL without parameters (values escaped with pg.escapeLiteral) sent in the same round trip as BEGIN;
   * `fn` receives the result of its last statement.
   */
  prelude?: string;
} = {}): Promise<T> {
  const client = await pool.connect();
  try {
    // asyncCommit: COMMIT without waiting for the WAL flush (SET LOCAL: this transaction only) — only for
    // writes whose loss in a crash is harmless, never for anything acknowledged to the outside.
    const begin = options.asyncCommit ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN';
    const started = await client.query(options.prelude ? `${begin}; ${options.prelude}` : begin) as pg.QueryResult | pg.QueryResult[];
    const result = await fn(client, options.prelude && Array.isArray(started) ? started.at(-1) : undefined);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Quotes an identifier for SQL (database and role names). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Replaces the database name in a connection URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Connection URL with any password replaced, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}

const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/**
 * True for errors meaning "the database cannot be reached right now" (refused,
 * timed out, terminated, not accepting connections, too many connections,
 * dropped) rather than a bug in a query: callers answer 503, not 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (UNAVAILABLE_NODE_CODES.has(code)) return true;
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' || code === '3D000') return true;
  if (code === '55000' && /not currently accepting connections/i.test(message)) return true;
  return /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
}
