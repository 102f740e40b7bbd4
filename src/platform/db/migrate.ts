/**
 * Forward-only numbered SQL migrations. Files `NNNN_name.sql` in a folder are
 * applied in order, each in its own transaction, and recorded in
 * `<schema>.schema_migrations`. An advisory lock makes concurrent instances
 * wait for each other instead of racing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CONTROL_MIGRATIONS = path.join(here, 'migrations', 'control');
export const TENANT_MIGRATIONS = path.join(here, 'migrations', 'tenant');
/** Schema that holds our tables inside a client's database (the client's app may share the database). */
export const TENANT_SCHEMA = 'ecodrix';

interface Migration { id: string; sql: string }

const cache = new Map<string, Migration[]>();

function load(dir: string): Migration[] {
  let list = cache.get(dir);
  if (!list) {
    list = readdirSync(dir).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort().map((f) => ({
      id: f.replace(/\.sql$/, ''),
      sql: readFileSync(path.join(dir, f), 'utf8'),
    }));
    cache.set(dir, list);
  }
  return list;
}

/** Id of the newest migration in `dir` (to tell whether a database is current without a round trip per file). */
export function latestMigration(dir: string): string | undefined {
  return load(dir).at(-1)?.id;
}

/**
 * Applies pending migrations from `dir` to the database behind `pool`.
 * @returns ids of the migrations applied now
 */
export async function migrate(pool: pg.Pool, dir: string, schema: string): Promise<string[]> {
  const migrations = load(dir);
  const client = await pool.connect();
  const applied: string[] = [];
  const lock = client.escapeLiteral(`ecodrix-migrate:${schema}`);
  try {
    // Lock, bookkeeping table and what is applied: one round trip (simple query protocol, several statements).
    const results = await client.query(`SELECT pg_advisory_lock(hashtext(${lock}));
      CREATE SCHEMA IF NOT EXISTS ${schema};
      CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
      SELECT id FROM ${schema}.schema_migrations`) as unknown as Array<pg.QueryResult<{ id: string }>>;
    const done = new Set(results.at(-1)!.rows.map((r) => r.id));
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      // Each migration in its own transaction, sent as one round trip.
      try {
        await client.query(`BEGIN; SET LOCAL search_path = ${schema}, public;\n${migration.sql}\n;
          INSERT INTO ${schema}.schema_migrations (id) VALUES (${client.escapeLiteral(migration.id)}); COMMIT`);
        applied.push(migration.id);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${migration.id} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext(${lock}))`).catch(() => {});
    client.release();
  }
  return applied;
}
