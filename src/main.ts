/**
 * Entry point: `node src/main.ts [--services=api,worker,cron]` (default all
 * three). SIGTERM/SIGINT stop accepting, finish in-flight work, close pools
 * and stop the embedded database.
 *
 * Start-up order: only configuration, the logger and the embedded PostgreSQL
 * driver are imported first; the embedded server's initdb/start (child
 * processes, on the other core) then run while the rest of the application is
 * loaded with dynamic imports, through Node's compile cache kept in
 * DATA_DIR/.cache (a fresh data directory starts without it; Node writes it
 * when the process exits, so restarts after a clean stop reuse it).
 */
import module from 'node:module';
import path from 'node:path';
import { parseConfig } from './config.ts';
import { loadEnvironment } from './platform/config.ts';
import { startEmbeddedPostgres } from './platform/db/embedded-postgres.ts';
import { ConfigError } from './platform/env-reader.ts';
import { createLogger } from './platform/logger.ts';

async function main(): Promise<void> {
  let booted;
  try {
    const config = parseConfig(loadEnvironment());
    const logger = createLogger(config.logLevel);
    // Loading modules blocks the event loop: wait until PostgreSQL's first child process runs, so it proceeds meanwhile.
    let spawned = () => {};
    const running = new Promise<void>((resolve) => (spawned = resolve));
    const embedded = config.databaseUrl ? undefined : startEmbeddedPostgres({ dir: path.join(config.dataDir, 'pg'), logger, onSpawn: spawned });
    embedded?.catch(() => {}); // awaited and reported by boot
    if (embedded) await Promise.race([running, embedded.catch(() => {})]);
    module.enableCompileCache?.(path.join(config.dataDir, '.cache', 'node-compile'));
    const [{ boot }, server] = await Promise.all([import('./boot.ts'), import('./server.ts')]);
    // Only cron processes run pg-boss's scheduler (its cron passes and the forwarding of due
    // occurrences), so `--services=api` or `worker` processes do no schedule work at all.
    booted = await boot({ config, logger, embedded, schedule: (c) => server.parseRoles(process.argv.slice(2), c.services).includes('cron') });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const { parseRoles, startRoles } = await import('./server.ts');
  const roles = parseRoles(process.argv.slice(2), booted.ctx.config.services);
  const server = await startRoles(booted, roles);
  if (server.url) process.stdout.write(`ECODrIx listening on ${server.url} (roles: ${roles.join(', ')})\n`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    booted.ctx.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    try {
      await server.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`ECODrIx failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
