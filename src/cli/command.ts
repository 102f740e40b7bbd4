/**
 * The CLI's command contract. A command group (`clients`, `secrets`, ...) is one
 * file in `commands/` exporting a `CliCommand`; `commands/index.ts` lists them.
 * Commands call the same use cases as the API through `io.context()` (which
 * boots the app without HTTP, once) and print through `io.out` so that
 * `--json` works everywhere.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AppContext } from '../context.ts';

export interface CliIo {
  /** True when `--json` was given: print machine-readable output only. */
  json: boolean;
  /**
   * Booted application context (booted on first call, closed by main after the command).
   * `startQueue` also starts the job queue (without workers) for commands that enqueue jobs.
   */
  context(options?: { startQueue?: boolean }): Promise<AppContext>;
  /** Prints `human` (a line or lines) normally, or `data` as one JSON document with --json. */
  out(human: string | string[], data: unknown): void;
  /** Writes a line to stderr (warnings, progress). Never secrets. */
  err(line: string): void;
}

export interface CliCommand {
  /** Group name typed on the command line (`ecodrix <name> ...`). */
  name: string;
  /** One line shown in `ecodrix --help`. */
  summary: string;
  /** Full usage text shown by `ecodrix <name> --help` and on usage errors. */
  usage: string;
  /** Runs with the arguments after the group name. Return an exit code (default 0); throw UsageError for bad usage (exit 2), anything else exits 1. */
  run(args: string[], io: CliIo): Promise<number | void>;
}

/** Wrong arguments: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `node:util` parseArgs in strict mode, turning its errors into UsageError. */
export function parseFlags<T extends Options>(args: string[], options: T, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument: ${parsed.positionals[positionals]}`);
  return parsed as { values: { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string }; positionals: string[] };
}

/** The value of a required string flag, or a UsageError naming it. */
export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** Splits `<sub> ...rest` and checks the subcommand is one of `known`. */
export function subcommand(args: string[], known: readonly string[]): [string, string[]] {
  const [sub, ...rest] = args;
  if (!sub || sub.startsWith('-')) throw new UsageError(`missing subcommand (one of ${known.join(', ')})`);
  if (!known.includes(sub)) throw new UsageError(`unknown subcommand ${sub} (one of ${known.join(', ')})`);
  return [sub, rest];
}

/**
 * A progress bar on stderr: redrawn in place on a terminal, one line a second otherwise
 * (stderr only, so --json keeps stdout a single JSON document).
 */
export function progressBar(io: CliIo, label: string): (p: { processed: number; total: number }) => void {
  const tty = process.stderr.isTTY && !io.json;
  let lastLine = 0;
  return (p) => {
    const ratio = p.total === 0 ? 1 : Math.min(1, p.processed / p.total);
    const line = `${label} [${'#'.repeat(Math.round(ratio * 30)).padEnd(30, '.')}] ${p.processed}/${p.total} ${Math.round(ratio * 100)}%`;
    if (tty) process.stderr.write(`\r${line}${ratio === 1 ? '\n' : ''}`);
    else if (Date.now() - lastLine > 1000 || ratio === 1) {
      io.err(line);
      lastLine = Date.now();
    }
  };
}

/** The actor recorded in the audit log for CLI actions. */
export const CLI_ACTOR = { actor: 'cli' } as const;
