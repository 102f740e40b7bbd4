/**
 * Entry point: `node src/main.ts [--services=api,worker,cron]` (default all
 * three). SIGTERM/SIGINT stop accepting, finish in-flight work, close pools
 * and stop the embedded database.
 */
import { boot } from './boot.ts';
import { ConfigError } from './platform/env-reader.ts';
import { parseRoles, startRoles } from './server.ts';

async function main(): Promise<void> {
  let booted;
  try {
    // Only cron processes run pg-boss's scheduler (its cron passes and the forwarding of due
    // occurrences), so `--services=api` or `worker` processes do no schedule work at all.
    booted = await boot({ schedule: (config) => parseRoles(process.argv.slice(2), config.services).includes('cron') });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
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
