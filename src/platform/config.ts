/**
 * Platform configuration: server, databases, secrets, limits. Integration-only
 * variables live with their integration (`whatsapp/config.ts`, ...); `src/config.ts`
 * combines all sections. `loadEnvironment` is the only place that reads process.env.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { EnvReader } from './env-reader.ts';

export type NodeEnv = 'development' | 'production' | 'test';

/** Reads `.env` (if present) under process.env, which wins, and returns the merged record. */
export function loadEnvironment(cwd = process.cwd()): Record<string, string | undefined> {
  const file = path.join(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
  return { ...process.env };
}

export function readPlatformConfig(env: EnvReader) {
  const nodeEnv = env.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, {
    default: 'development',
    doc: 'development (default) generates missing secrets into DATA_DIR; production makes CORE_API_TOKEN and ENCRYPTION_KEY(S) mandatory.',
  });
  const port = env.int('PORT', { default: 3000, min: 0, max: 65535, doc: 'HTTP and Socket.io port.' });
  return {
    nodeEnv: nodeEnv as NodeEnv,
    port,
    host: env.str('HOST', { default: '0.0.0.0', doc: 'Interface to listen on.' }),
    publicUrl: env.url('PUBLIC_URL', {
      doc: 'Public base URL of this server, used in links sent to people (OAuth redirect, unsubscribe, media). Default http://localhost:PORT.',
    }) ?? `http://localhost:${port}`,
    dataDir: path.resolve(env.str('DATA_DIR', {
      default: './.data',
      doc: 'Where the embedded PostgreSQL cluster, generated development secrets and local media live. Moving it loses them.',
    })),
    databaseUrl: env.url('DATABASE_URL', {
      secret: true,
      doc: 'Control database. Unset: an embedded PostgreSQL is started under DATA_DIR and client databases are created on it.',
    }),
    tenantAutoProvision: env.str('TENANT_AUTO_PROVISION', {
      doc: 'true: a client without a registered datasource gets a database created on the control server. Default true with the embedded database, false with DATABASE_URL.',
    }),
    logLevel: env.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
      default: 'info', doc: 'pino log level.',
    }),
    coreApiTokens: env.list('CORE_API_TOKEN', {
      secret: true,
      doc: 'Admin token(s) for x-core-api-key, comma-separated so a new one can be added before the old is removed. Generated in development.',
    }),
    encryptionKeys: env.str('ENCRYPTION_KEYS', {
      secret: true,
      doc: 'Keyring for secrets at rest: comma-separated id:key (key = 32 bytes as 64 hex chars or base64). The first encrypts, all decrypt. Removing a key that still encrypts rows makes them unreadable.',
    }),
    encryptionKey: env.str('ENCRYPTION_KEY', {
      secret: true,
      doc: 'Single-key form of ENCRYPTION_KEYS (id "k1"). Generated in development.',
    }),
    blindIndexKey: env.str('BLIND_INDEX_KEY', {
      secret: true,
      doc: 'Key for blind indexes (lookup of phone number ids and verify tokens without decrypting). Default: derived from ENCRYPTION_KEY. Changing it breaks webhook routing until indexes are recomputed.',
    }),
    controlPoolMax: env.int('CONTROL_DB_POOL_MAX', { default: 20, min: 2, max: 500, doc: 'Connections to the control database per process.' }),
    tenantPoolMax: env.int('TENANT_POOL_MAX', { default: 3, min: 1, max: 50, doc: 'Connections per client database pool.' }),
    tenantConnectionBudget: env.int('TENANT_CONNECTION_BUDGET', {
      default: 60, min: 1, max: 10000,
      doc: 'Total connections all client pools may hold per process; least recently used idle pools are closed to stay under it.',
    }),
    tenantPoolIdleMs: env.int('TENANT_POOL_IDLE_MS', { default: 300_000, min: 1000, max: 86_400_000, doc: 'A client pool unused this long is closed.' }),
    dbConnectTimeoutMs: env.int('DB_CONNECT_TIMEOUT_MS', { default: 5000, min: 100, max: 120_000, doc: 'Connect timeout for every database connection.' }),
    dbStatementTimeoutMs: env.int('DB_STATEMENT_TIMEOUT_MS', { default: 30_000, min: 100, max: 3_600_000, doc: 'statement_timeout for client database sessions.' }),
    bodyLimitBytes: env.int('BODY_LIMIT_BYTES', { default: 262_144, min: 1024, max: 52_428_800, doc: 'Largest JSON body accepted on API routes (413 above).' }),
    authFailureLimit: env.int('AUTH_FAILURE_LIMIT', {
      default: 10, min: 1, max: 100_000,
      doc: 'Failed authentications allowed per address and per (address, client code) per AUTH_FAILURE_WINDOW_SECONDS before 429.',
    }),
    authFailureWindowSeconds: env.int('AUTH_FAILURE_WINDOW_SECONDS', { default: 60, min: 1, max: 86_400, doc: 'Window for AUTH_FAILURE_LIMIT.' }),
    metricsToken: env.str('METRICS_TOKEN', { secret: true, doc: 'Bearer token that may read /metrics besides the admin token (give it to Prometheus).' }),
    services: env.list('SERVICES', { default: ['api', 'worker', 'cron'], doc: 'Roles this process runs (api, worker, cron); --services= on the command line wins.' }),
  };
}

export type PlatformConfig = ReturnType<typeof readPlatformConfig>;
