/** TenantPools: LRU eviction under a small connection budget with many tenant databases. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import pino from 'pino';
import { testServerUrl } from '../../../test/harness.ts';
import { createPool, quoteIdent, withDatabase } from './pool.ts';
import { TenantPools } from './tenant-pools.ts';

const TENANTS = 12;
const BUDGET = 6;
const PER_POOL = 2;
const prefix = `pools_${randomBytes(4).toString('hex')}`;
const names = Array.from({ length: TENANTS }, (_, i) => `${prefix}_${i}`);
let admin: ReturnType<typeof createPool>;

before(async () => {
  admin = createPool({ connectionString: testServerUrl(), max: 2, connectTimeoutMs: 5000 });
  for (const name of names) await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
});
after(async () => {
  for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {});
  await admin.end();
});

it(`serves ${TENANTS} tenant databases with a budget of ${BUDGET} connections and never exceeds it`, async () => {
  const pools = new TenantPools({ budget: BUDGET, perPoolMax: PER_POOL, idleMs: 60_000, connectTimeoutMs: 10_000, statementTimeoutMs: 10_000, logger: pino({ level: 'silent' }) });
  let maxHeld = 0;
  let maxServer = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxHeld = Math.max(maxHeld, pools.stats().connections);
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname LIKE $1', [`${prefix}_%`]);
      maxServer = Math.max(maxServer, rows[0].n);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const served = new Map<number, number>();
  try {
    // 4 concurrent workers, each visiting every tenant in a different order, 2 rounds.
    await Promise.all(Array.from({ length: 4 }, async (_, worker) => {
      for (let round = 0; round < 2; round++) {
        for (let step = 0; step < TENANTS; step++) {
          const i = (step * 5 + worker * 3 + round) % TENANTS;
          const pool = await pools.acquire(`tenant-${i}`, 'v1', async () => withDatabase(testServerUrl(), names[i]));
          const { rows } = await pool.query<{ db: string; t: string }>("SELECT current_database() AS db, to_regclass('ecodrix.schema_migrations')::text AS t, pg_sleep(0.005)");
          assert.equal(rows[0].db, names[i], 'each tenant reaches its own database');
          assert.ok(rows[0].t, 'tenant migrations were applied');
          served.set(i, (served.get(i) ?? 0) + 1);
          maxHeld = Math.max(maxHeld, pools.stats().connections);
          assert.ok(pools.stats().pools * PER_POOL <= BUDGET);
        }
      }
    }));
  } finally {
    sampling = false;
    await sampler;
  }
  assert.equal(served.size, TENANTS, 'every tenant was served');
  assert.ok([...served.values()].every((n) => n === 8));
  assert.ok(maxHeld <= BUDGET, `held ${maxHeld} connections, budget ${BUDGET}`);
  assert.ok(maxHeld > 0);
  // The server-side view may lag a closing socket by a moment; allow one pool's worth while closing.
  assert.ok(maxServer <= BUDGET + PER_POOL, `server saw ${maxServer} tenant connections`);
  assert.ok(pools.stats().pools <= BUDGET / PER_POOL);

  // Idle eviction closes everything unused.
  const evicted = await pools.evictIdle(Date.now() + 120_000);
  assert.ok(evicted >= 1);
  assert.equal(pools.stats().pools, 0);
  await pools.closeAll();
  const deadline = Date.now() + 10_000;
  let remaining = -1;
  while (Date.now() < deadline) {
    remaining = (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname LIKE $1', [`${prefix}_%`])).rows[0].n;
    if (remaining === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(remaining, 0, 'closeAll leaves no tenant connection behind');
});

it('a datasource version change replaces the pool; an unreachable database is a 503 AppError and is retried', async () => {
  const pools = new TenantPools({ budget: 10, perPoolMax: 2, idleMs: 60_000, connectTimeoutMs: 2000, statementTimeoutMs: 10_000, logger: pino({ level: 'silent' }) });
  try {
    const first = await pools.acquire('t', 'v1', async () => withDatabase(testServerUrl(), names[0]));
    const second = await pools.acquire('t', 'v2', async () => withDatabase(testServerUrl(), names[1]));
    assert.notEqual(first, second);
    assert.equal((await second.query('SELECT current_database() AS db')).rows[0].db, names[1]);
    await assert.rejects(pools.acquire('bad', 'v1', async () => withDatabase(testServerUrl(), `${prefix}_missing`)), (err: { code?: string; status?: number; retryAfterSeconds?: number }) => {
      assert.equal(err.code, 'TENANT_DB_UNAVAILABLE');
      assert.equal(err.status, 503);
      assert.ok(err.retryAfterSeconds);
      return true;
    });
    assert.equal(pools.stats().pools, 1, 'the failed pool is not cached');
  } finally {
    await pools.closeAll();
  }
});
