/**
 * `ecodrix` command line: `ecodrix <group> <subcommand> [flags] [--json]`.
 * Commands run the same use cases as the admin API against the configured
 * databases (same .env / environment as the server), without HTTP. Exit codes:
 * 0 ok, 1 error, 2 usage. Command groups are listed in `commands/index.ts`.
 */
import type { Booted } from '../boot.ts';
import { ConfigError } from '../platform/env-reader.ts';
import { isAppError } from '../platform/errors.ts';
import { UsageError, type CliCommand, type CliIo } from './command.ts';
import { commands } from './commands/index.ts';

export interface CliStreams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

function globalHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: ecodrix <command> <subcommand> [options] [--json]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    '  --json   machine-readable output (one JSON document on stdout)',
    '  --help   this help, or `ecodrix <command> --help`',
    '',
    'Configuration comes from the environment and .env, as for the server (DATABASE_URL, DATA_DIR, CORE_API_TOKEN, ENCRYPTION_KEY(S)...).',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function runCli(argv: string[], streams: CliStreams = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const help = args.includes('--help') || args.includes('-h');
  const name = args[0];
  if (!name || name === 'help' || (help && name.startsWith('-'))) {
    streams[name ? 'stdout' : 'stderr'](`${globalHelp()}\n`);
    return name ? 0 : 2;
  }
  const command: CliCommand | undefined = commands.find((c) => c.name === name);
  if (!command) {
    streams.stderr(`ecodrix: unknown command ${JSON.stringify(name)}\n\n${globalHelp()}\n`);
    return 2;
  }
  if (help) {
    streams.stdout(`${command.usage}\n`);
    return 0;
  }

  let booted: Booted | undefined;
  let queueStarted = false;
  const io: CliIo = {
    json,
    async context(options = {}) {
      if (!booted) {
        // Imported here so that --help and usage errors answer at once, without loading the whole app.
        const [{ boot }, { parseConfig }, { loadEnvironment }, { createLogger }, { default: pino }] = await Promise.all([
          import('../boot.ts'), import('../config.ts'), import('../platform/config.ts'), import('../platform/logger.ts'), import('pino'),
        ]);
        const config = parseConfig(loadEnvironment());
        // Logs go to stderr (warnings only unless LOG_LEVEL asks for more) so stdout stays the command's output.
        const level = process.env.LOG_LEVEL ?? 'warn';
        booted = await boot({ config, logger: createLogger(level, pino.destination(2)) });
      }
      if (options.startQueue && !queueStarted) {
        await booted.ctx.queue.start(booted.ctx, { work: false });
        queueStarted = true;
      }
      return booted.ctx;
    },
    out(human, data) {
      if (json) streams.stdout(`${JSON.stringify(data, null, 2)}\n`);
      else streams.stdout(`${Array.isArray(human) ? human.join('\n') : human}\n`);
    },
    err(line) {
      streams.stderr(`${line}\n`);
    },
  };

  let code: number;
  try {
    code = (await command.run(args.slice(1), io)) ?? 0;
  } catch (err) {
    code = report(err, command, streams, json);
  } finally {
    if (booted) await booted.close().catch(() => {});
  }
  return code;
}

function report(err: unknown, command: CliCommand, streams: CliStreams, json: boolean): number {
  if (err instanceof UsageError) {
    streams.stderr(`ecodrix ${command.name}: ${err.message}\n\n${command.usage}\n`);
    return 2;
  }
  if (isAppError(err)) {
    if (json) streams.stdout(`${JSON.stringify({ error: { code: err.code, message: err.message } }, null, 2)}\n`);
    streams.stderr(`ecodrix ${command.name}: ${err.message} (${err.code})\n`);
    return 1;
  }
  if (err instanceof ConfigError) {
    streams.stderr(`${err.message}\n`);
    return 1;
  }
  streams.stderr(`ecodrix ${command.name}: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
}
