/** Configuration: every problem at once, production secrets, `.env.example` kept current. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { boot } from '../../src/boot.ts';
import { documentedVariables, parseConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/platform/env-reader.ts';

describe('config', () => {
  it('parseConfig lists every problem at once without echoing secrets', () => {
    let error: unknown;
    try {
      parseConfig({ PORT: 'eighty', NODE_ENV: 'staging', DATABASE_URL: 'not a url with s3cret', TENANT_POOL_MAX: '0', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    const text = error.problems.join('\n');
    for (const name of ['PORT', 'NODE_ENV', 'DATABASE_URL', 'TENANT_POOL_MAX', 'LOG_LEVEL']) assert.match(text, new RegExp(name));
    assert.ok(error.problems.length >= 5);
    assert.equal(error.message.includes('s3cret'), false, 'secret values are not echoed');
  });

  it('needs nothing in development', () => {
    const config = parseConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.nodeEnv, 'development');
    assert.equal(config.databaseUrl, undefined);
    assert.match(config.dataDir, /\.data$/);
  });

  it('boot() in production without CORE_API_TOKEN and ENCRYPTION_KEY fails naming both, before touching a database', async () => {
    const config = parseConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    await assert.rejects(boot({ config }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /CORE_API_TOKEN/);
      assert.match(err.message, /ENCRYPTION_KEY/);
      return true;
    });
  });

  it('boot() refuses a malformed encryption key and a short production admin token', async () => {
    const config = parseConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', CORE_API_TOKEN: 'short', ENCRYPTION_KEY: 'nothex' });
    await assert.rejects(boot({ config }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /ENCRYPTION_KEY/);
      assert.match(err.message, /at least 24/);
      assert.equal(err.message.includes('nothex'), false);
      return true;
    });
  });

  it('.env.example documents every variable the code reads (run `npm run env:example` after adding one)', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const missing = [...new Set(documentedVariables().map((v) => v.name))].filter((name) => !new RegExp(`^# ${name}=`, 'm').test(example));
    assert.deepEqual(missing, [], `missing from .env.example: ${missing.join(', ')} — run npm run env:example`);
  });
});
