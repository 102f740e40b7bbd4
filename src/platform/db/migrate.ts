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
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext($1))`, [`ecodrix-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${schema}.schema_migrations`);
    const done = new Set(rows.map((r) => r.id));
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path = ${schema}, public`);
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${schema}.schema_migrations (id) VALUES ($1)`, [migration.id]);
        await client.query('COMMIT');
        applied.push(migration.id);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${migration.id} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`ecodrix-migrate:${schema}`]).catch(() => {});
    client.release();
  }
  return applied;
}
