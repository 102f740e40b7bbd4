/**
 * The composition root's dependency bag. Use cases take what they need from it
 * as plain arguments (`createClient(ctx, input)`); nothing reads globals.
 * Glossary: a *client* (tenant) is a business using ECODrIx; its *tenant
 * database* holds its CRM; the *control database* holds clients, secrets, the
 * webhook inbox and the job queue.
 */
import type pg from 'pg';
import type { AppConfig } from './config.ts';
import type { Keyring } from './platform/crypto/keyring.ts';
import type { TenantPools } from './platform/db/tenant-pools.ts';
import type { DomainEventsNotifier, RealtimePublisher } from './platform/events.ts';
import type { JobQueue } from './platform/jobs/queue.ts';
import type { Logger } from './platform/logger.ts';
import type { ObjectStorage } from './platform/storage/storage.ts';
import type { MetricsRegistry } from './platform/metrics.ts';
import type { Mailer } from './platform/mail/mailer.ts';

export interface AppContext {
  config: AppConfig;
  logger: Logger;
  /** Control database pool. */
  controlDb: pg.Pool;
  /** Connection URL of the control database (also used to provision tenant databases on the same server). */
  controlUrl: string;
  /** True when the control database is the embedded one started by this process. */
  embedded: boolean;
  keyring: Keyring;
  tenantPools: TenantPools;
  queue: JobQueue<AppContext>;
  /** Dashboards fan-out; the API role replaces the null publisher with the Socket.io gateway. */
  realtime: RealtimePublisher;
  /** Call `recorded(clientId)` after committing a tenant transaction that recorded domain events. */
  domainEvents: DomainEventsNotifier;
  /** Archived files (media): local disk or S3/R2. */
  storage: ObjectStorage;
  /** Prometheus metrics served at /metrics. */
  metrics: MetricsRegistry;
  /** SMTP client: pooled transports per client, closed when idle. */
  mailer: Mailer;
}
