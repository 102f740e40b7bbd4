/**
 * Tenant datasources: where each client's database lives, and the pool that
 * reaches it. A registered URI is checked by connecting before it is stored
 * (encrypted). With the embedded database (or TENANT_AUTO_PROVISION=true) a
 * client without a datasource gets a database created on the control server;
 * such a datasource stores only the database name, so it survives the
 * embedded server coming back on another port.
 */
import pg from 'pg';
import type { AppContext } from '../context.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { quoteIdent, redactUrl, withDatabase, withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import type { ClientAuthRow } from './clients.repo.ts';
import { findClientById } from './clients.repo.ts';
import type { Actor } from './manage-client.ts';

const PROVISIONED_PREFIX = 'provisioned:';

export function datasourceContext(clientId: string): string {
  return `client:${clientId}|client_datasources.uri`;
}

/** Connects once to `uri` and explains failure in words an operator can act on. */
export async function checkDatabaseUri(uri: string, timeoutMs: number): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new AppError('DATASOURCE_UNREACHABLE', { message: 'dbUri is not a valid URL' });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new AppError('DATASOURCE_UNREACHABLE', { message: `dbUri must be a postgres:// or postgresql:// URL (got ${parsed.protocol.replace(':', '')})` });
  }
  const client = new pg.Client({ connectionString: uri, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    const e = err as { code?: string; message: string };
    const reason = e.code === '28P01' ? 'authentication failed'
      : e.code === '3D000' ? 'database does not exist'
      : e.code === 'ECONNREFUSED' ? 'connection refused'
      : e.code === 'ENOTFOUND' ? 'host not found'
      : /timeout/i.test(e.message) ? 'connection timed out'
      : e.message.replace(uri, redactUrl(uri));
    throw new AppError('DATASOURCE_UNREACHABLE', { message: `Cannot connect to dbUri: ${reason}`, details: { uri: redactUrl(uri) } });
  } finally {
    await client.end().catch(() => {});
  }
}

/** Registers (or replaces) the client's database after checking it; takes effect at once. */
export async function setDatasource(ctx: AppContext, client: ClientAuthRow, dbUri: string, actor: Actor) {
  await checkDatabaseUri(dbUri, ctx.config.dbConnectTimeoutMs);
  const display = redactUrl(dbUri);
  await withTransaction(ctx.controlDb, async (tx) => {
    await tx.query(
      `INSERT INTO client_datasources (client_id, uri_envelope, key_id, display_uri, provisioned) VALUES ($1, $2, $3, $4, false)
       ON CONFLICT (client_id) DO UPDATE SET uri_envelope = EXCLUDED.uri_envelope, key_id = EXCLUDED.key_id,
         display_uri = EXCLUDED.display_uri, provisioned = false, updated_at = clock_timestamp()`,
      [client.id, ctx.keyring.encrypt(dbUri, datasourceContext(client.id)), ctx.keyring.activeId, display],
    );
    await recordAudit(tx, { ...actor, action: 'datasource.set', clientId: client.id, clientCode: client.code, details: { uri: display } });
  });
  await ctx.tenantPools.evict(client.id);
  return { clientCode: client.code, datasource: display, connected: true };
}

export async function describeDatasource(ctx: AppContext, clientId: string) {
  const { rows } = await ctx.controlDb.query<{ display_uri: string; provisioned: boolean; updated_at: Date }>(
    'SELECT display_uri, provisioned, updated_at FROM client_datasources WHERE client_id = $1', [clientId],
  );
  if (!rows[0]) return null;
  return { uri: rows[0].display_uri, provisioned: rows[0].provisioned, updatedAt: rows[0].updated_at.toISOString() };
}

function autoProvision(ctx: AppContext): boolean {
  const setting = ctx.config.tenantAutoProvision;
  if (setting === undefined) return ctx.embedded;
  return /^(1|true|yes|on)$/i.test(setting);
}

/** Creates a database for the client on the control server and records it as its datasource. */
async function provisionDatabase(ctx: AppContext, client: ClientAuthRow): Promise<void> {
  // Prefixed with the control database's name so several control databases can share one server (tests do).
  const control = decodeURIComponent(new URL(ctx.controlUrl).pathname.slice(1)) || 'ecodrix';
  const name = `${control}_tenant_${client.id}`.slice(0, 63);
  try {
    await ctx.controlDb.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (err) {
    // 42P04: already exists; 23505: another request created it at the same moment.
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err;
  }
  await ctx.controlDb.query(
    `INSERT INTO client_datasources (client_id, uri_envelope, key_id, display_uri, provisioned) VALUES ($1, $2, $3, $4, true)
     ON CONFLICT (client_id) DO NOTHING`,
    [client.id, ctx.keyring.encrypt(`${PROVISIONED_PREFIX}${name}`, datasourceContext(client.id)), ctx.keyring.activeId, `(control server)/${name}`],
  );
  ctx.logger.info({ clientCode: client.code, database: name }, 'provisioned a tenant database');
}

async function resolveUri(ctx: AppContext, clientId: string): Promise<string> {
  const { rows } = await ctx.controlDb.query<{ uri_envelope: string }>('SELECT uri_envelope FROM client_datasources WHERE client_id = $1', [clientId]);
  if (!rows[0]) throw new AppError('NO_TENANT_CONNECTION');
  const stored = ctx.keyring.decrypt(rows[0].uri_envelope, datasourceContext(clientId));
  return stored.startsWith(PROVISIONED_PREFIX) ? withDatabase(ctx.controlUrl, stored.slice(PROVISIONED_PREFIX.length)) : stored;
}

/**
 * The client's tenant database pool (migrated). Throws `No tenant connection for <code>`
 * when none is registered and auto-provisioning is off, and TENANT_DB_UNAVAILABLE (503)
 * when it cannot be reached.
 */
export async function tenantDb(ctx: AppContext, client: Pick<ClientAuthRow, 'id' | 'code' | 'datasource_version'>): Promise<pg.Pool> {
  let version = client.datasource_version;
  if (!version) {
    if (!autoProvision(ctx)) throw new AppError('NO_TENANT_CONNECTION', { message: `No tenant connection for ${client.code}` });
    await provisionDatabase(ctx, client as ClientAuthRow);
    version = (await findClientById(ctx.controlDb, client.id))?.datasource_version ?? null;
    if (!version) throw new AppError('NO_TENANT_CONNECTION', { message: `No tenant connection for ${client.code}` });
  }
  return ctx.tenantPools.acquire(client.id, version, () => resolveUri(ctx, client.id));
}

export interface DatasourceHealth {
  ok: boolean;
  /** Time to reach the database and run `SELECT 1`, or until the failure. */
  latencyMs: number;
  /** `reachable and migrated`, or what went wrong (never the URI or its password). */
  detail: string;
}

/** Rejects when `promise` has not settled within `ms`. */
export async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reaches the client's tenant database through its pool (migrating it if needed) and runs `SELECT 1`. */
export async function checkDatasourceHealth(ctx: AppContext, client: Pick<ClientAuthRow, 'id' | 'code' | 'datasource_version'>, timeoutMs = 8000): Promise<DatasourceHealth> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    await withinMs((async () => {
      const pool = await tenantDb(ctx, client);
      await pool.query('SELECT 1');
    })(), timeoutMs);
    return { ok: true, latencyMs: elapsed(), detail: 'reachable and migrated' };
  } catch (err) {
    return { ok: false, latencyMs: elapsed(), detail: (err as Error).message };
  }
}

/** Tenant pool by client id (for jobs, which carry only the id). */
export async function tenantDbById(ctx: AppContext, clientId: string): Promise<pg.Pool> {
  const client = await findClientById(ctx.controlDb, clientId);
  if (!client) throw new AppError('CLIENT_NOT_FOUND', { message: 'ClientCode not found' });
  return tenantDb(ctx, client);
}
