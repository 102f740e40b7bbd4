/**
 * Composition root: configuration, secrets, databases (embedded or
 * DATABASE_URL), control migrations, keyring, tenant pools and the job queue,
 * assembled into an AppContext. `main.ts` (server) and the CLI both start here.
 */
import path from 'node:path';
import type { AppConfig } from './config.ts';
import { parseConfig } from './config.ts';
import type { AppContext } from './context.ts';
import { jobDefinitions } from './jobs.ts';
import { loadEnvironment } from './platform/config.ts';
import { Keyring, deriveKey, parseKey, parseKeyring, type KeyringKey } from './platform/crypto/keyring.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './platform/db/embedded-postgres.ts';
import { CONTROL_MIGRATIONS, migrate } from './platform/db/migrate.ts';
import { createPool, redactUrl } from './platform/db/pool.ts';
import { TenantPools } from './platform/db/tenant-pools.ts';
import { loadDevSecrets } from './platform/dev-secrets.ts';
import { ConfigError } from './platform/env-reader.ts';
import { nullDomainEventsNotifier } from './platform/events.ts';
import { domainEventsNotifier } from './workflows/index.ts';
import { JobQueue } from './platform/jobs/queue.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { createStorage } from './platform/storage/index.ts';
import { NotifyPublisher } from './realtime/notify-publisher.ts';
import { MetricsRegistry } from './platform/metrics.ts';
import { Mailer } from './platform/mail/mailer.ts';
import { SmtpAddressPolicy } from './platform/mail/smtp-destination.ts';

export interface BootOptions {
  /** Parsed config (default: from process.env and .env). */
  config?: AppConfig;
  logger?: Logger;
  /** Start pg-boss's cron scheduler in this process (or decide from the config, e.g. by role). */
  schedule?: boolean | ((config: AppConfig) => boolean);
  /** The embedded PostgreSQL, already starting (main.ts starts it before loading the application); stopped on failure. */
  embedded?: Promise<EmbeddedPostgres>;
}

export interface Booted {
  ctx: AppContext;
  /** Closes pools, the queue and the embedded database (in that order). */
  close(): Promise<void>;
}

interface ResolvedSecrets { coreApiTokens: string[]; keys: KeyringKey[]; blindIndexKey: Buffer }

function resolveSecrets(config: AppConfig, logger: Logger): ResolvedSecrets {
  const problems: string[] = [];
  let keys: KeyringKey[] = [];
  try {
    if (config.encryptionKeys) keys = parseKeyring(config.encryptionKeys);
    else if (config.encryptionKey) keys = [{ id: 'k1', key: parseKey(config.encryptionKey) }];
  } catch (err) {
    problems.push(`ENCRYPTION_KEY(S): ${(err as Error).message}`);
  }
  let tokens = config.coreApiTokens;
  let blindIndexKey: Buffer | undefined;
  try {
    if (config.blindIndexKey) blindIndexKey = parseKey(config.blindIndexKey);
  } catch (err) {
    problems.push(`BLIND_INDEX_KEY: ${(err as Error).message}`);
  }
  if (config.nodeEnv === 'production') {
    if (tokens.length === 0) problems.push('CORE_API_TOKEN is required in production');
    if (keys.length === 0) problems.push('ENCRYPTION_KEY or ENCRYPTION_KEYS is required in production');
    if (tokens.some((t) => t.length < 24)) problems.push('CORE_API_TOKEN values must be at least 24 characters');
  } else if (tokens.length === 0 || keys.length === 0) {
    const { secrets, created, file } = loadDevSecrets(config.dataDir);
    if (tokens.length === 0) {
      tokens = [secrets.coreApiToken];
      if (created) {
        process.stderr.write(`\n  DEVELOPMENT MODE: generated an admin token (x-core-api-key):\n\n    ${secrets.coreApiToken}\n\n  It is kept in ${file}. Set CORE_API_TOKEN and ENCRYPTION_KEY (and NODE_ENV=production) for real use.\n\n`);
      } else {
        logger.warn({ file }, 'development mode: using the generated admin token and encryption key kept in the data directory');
      }
    }
    if (keys.length === 0) {
      keys = [{ id: 'dev', key: parseKey(secrets.encryptionKey) }];
      blindIndexKey ??= parseKey(secrets.blindIndexKey);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  // The blind index key must outlive encryption key rotation: derive it from the oldest key unless given.
  blindIndexKey ??= deriveKey(keys.at(-1)!.key, 'blind-index');
  return { coreApiTokens: tokens, keys, blindIndexKey };
}

/** Boots everything except HTTP and workers. */
export async function boot(options: BootOptions = {}): Promise<Booted> {
  const config = options.config ?? parseConfig(loadEnvironment());
  const logger = options.logger ?? createLogger(config.logLevel);
  let secrets: ResolvedSecrets;
  let schedule: boolean;
  try {
    schedule = typeof options.schedule === 'function' ? options.schedule(config) : options.schedule ?? false;
    secrets = resolveSecrets(config, logger);
  } catch (err) {
    await (await options.embedded?.catch(() => undefined))?.stop();
    throw err;
  }
  config.coreApiTokens = secrets.coreApiTokens;

  let embedded: EmbeddedPostgres | undefined;
  let controlUrl = config.databaseUrl;
  if (!controlUrl) {
    embedded = await (options.embedded ?? startEmbeddedPostgres({ dir: path.join(config.dataDir, 'pg'), logger }));
    controlUrl = embedded.url;
  }
  const controlDb = createPool({
    connectionString: controlUrl,
    max: config.controlPoolMax,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    applicationName: 'ecodrix-control',
    onError: (err) => logger.warn({ err: err.message }, 'control database connection error'),
  });
  try {
    await migrate(controlDb, CONTROL_MIGRATIONS, 'public');
  } catch (err) {
    await controlDb.end().catch(() => {});
    await embedded?.stop();
    throw new Error(`cannot prepare the control database at ${redactUrl(controlUrl)}: ${(err as Error).message}`, { cause: err });
  }

  const keyring = new Keyring(secrets.keys, secrets.blindIndexKey);
  const tenantPools = new TenantPools({
    budget: config.tenantConnectionBudget,
    perPoolMax: config.tenantPoolMax,
    idleMs: config.tenantPoolIdleMs,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    logger,
  });
  tenantPools.startSweeper();
  const queue = new JobQueue<AppContext>({ connectionString: controlUrl, settings: config.jobs, logger, schedule });
  queue.register(jobDefinitions);
  const storage = createStorage(config.storage, { dataDir: config.dataDir, tokenSecret: Buffer.from(keyring.blindIndex('media-url', 'file-token-key'), 'base64url') });
  // Processes without the API role publish through NOTIFY; the API role replaces this with the Socket.io gateway.
  const realtime = new NotifyPublisher({ connectionString: controlUrl, logger, connectTimeoutMs: config.dbConnectTimeoutMs });

  const ctx: AppContext = { config, logger, controlDb, controlUrl, embedded: Boolean(embedded), keyring, tenantPools, queue, storage, realtime, domainEvents: nullDomainEventsNotifier, metrics: new MetricsRegistry(), mailer: new Mailer({ policy: new SmtpAddressPolicy(config.mail.allowHosts), tlsVerify: config.mail.tlsVerify, connectTimeoutMs: config.mail.connectTimeoutMs, socketTimeoutMs: config.mail.socketTimeoutMs, idleMs: config.mail.poolIdleMs, logger }) };
  ctx.domainEvents = domainEventsNotifier(ctx);
  if (config.outbound.allowHosts.length) logger.warn({ allowHosts: config.outbound.allowHosts }, 'SSRF_ALLOW_HOSTS: outbound requests to these hosts may reach internal addresses');
  else logger.info('outbound requests to tenant URLs: public addresses only (SSRF_ALLOW_HOSTS empty)');
  if (config.outbound.httpsOnly) logger.info('outbound requests to tenant URLs: https on port 443 only (production)');
  if (config.mail.allowHosts.length) logger.warn({ allowHosts: config.mail.allowHosts }, 'SMTP_ALLOW_HOSTS: client SMTP hosts may resolve to these internal addresses (any port)');
  return {
    ctx,
    async close() {
      await queue.stop().catch((err) => logger.warn({ err: err.message }, 'queue stop failed'));
      await ctx.mailer.close();
      await tenantPools.closeAll();
      await realtime.close();
      await controlDb.end().catch(() => {});
      await embedded?.stop();
    },
  };
}
