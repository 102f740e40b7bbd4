/**
 * `ecodrix doctor`: checks what an operator would check by hand — config,
 * control database, keyring and stale envelopes, job queue, and each client's
 * tenant database — and says plainly what is wrong. Read-only.
 */
import { verifySmtp } from '../campaigns/index.ts';
import type { AppContext } from '../context.ts';
import { encryptedColumns } from '../encrypted-columns.ts';
import { countStale } from '../platform/crypto/reencrypt.ts';
import { CONTROL_MIGRATIONS, latestMigration } from '../platform/db/migrate.ts';
import { checkDatasourceHealth, describeSecretsOf, findClientById, withinMs } from '../tenants/index.ts';

export interface DoctorCheck {
  /** What was checked, e.g. `control database` or `client sharmaclinic: tenant database`. */
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
}

/** Runs every check; `clientCodes` limits the per-client checks (default: all clients). */
export async function runDoctor(ctx: AppContext, options: { clientLimit?: number; onCheck?: (check: DoctorCheck) => void } = {}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck) => {
    checks.push(check);
    options.onCheck?.(check);
  };

  add({ name: 'configuration', status: ctx.config.nodeEnv === 'production' ? 'ok' : 'warn', detail: `NODE_ENV=${ctx.config.nodeEnv}${ctx.config.nodeEnv === 'production' ? '' : ' (development defaults; generated secrets live in DATA_DIR)'}` });
  add({ name: 'control database', status: 'ok', detail: ctx.embedded ? 'embedded PostgreSQL under DATA_DIR' : 'DATABASE_URL' });
  try {
    const { rows } = await withinMs(ctx.controlDb.query<{ version: string; sync: string; latest: string | null }>(
      `SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync,
              (SELECT max(id) FROM public.schema_migrations) AS latest`,
    ), 5000);
    const expected = latestMigration(CONTROL_MIGRATIONS);
    add({ name: 'control database: server', status: 'ok', detail: `PostgreSQL ${rows[0].version}` });
    add({ name: 'control database: synchronous_commit', status: rows[0].sync === 'off' ? 'fail' : 'ok', detail: rows[0].sync === 'off' ? 'off: acknowledged webhooks could be lost on a crash' : rows[0].sync });
    add({ name: 'control database: migrations', status: rows[0].latest === expected ? 'ok' : 'warn', detail: `at ${rows[0].latest ?? 'none'}, code expects ${expected}` });
  } catch (err) {
    add({ name: 'control database: server', status: 'fail', detail: (err as Error).message });
    return checks;
  }

  add({ name: 'keyring', status: 'ok', detail: `active key ${ctx.keyring.activeId}; ${ctx.keyring.keyIds.length} key(s) can decrypt (${ctx.keyring.keyIds.join(', ')})` });
  for (const column of encryptedColumns) {
    const stale = await countStale(ctx.controlDb, ctx.keyring, column).catch(() => -1);
    add({
      name: `encrypted ${column.label}`,
      status: stale === 0 ? 'ok' : stale < 0 ? 'warn' : 'warn',
      detail: stale === 0 ? 'all under the active key' : stale < 0 ? 'could not count' : `${stale} still under an older key: run \`ecodrix secrets rotate-key\``,
    });
  }

  try {
    const queues = await ctx.queue.boss.getQueues(ctx.queue.names);
    const failed = queues.reduce((n, q) => n + q.failedCount, 0);
    const backlog = queues.reduce((n, q) => n + (q.readyCount ?? 0), 0);
    add({ name: 'job queue', status: failed > 0 ? 'warn' : 'ok', detail: `${queues.length} queues, ${backlog} ready, ${failed} failed${failed ? ' (see `ecodrix jobs list --state failed`)' : ''}` });
  } catch (err) {
    add({ name: 'job queue', status: 'warn', detail: `not readable: ${(err as Error).message}` });
  }

  const { rows: clients } = await ctx.controlDb.query<{ id: string; code: string; whatsapp_status: string }>(
    'SELECT id, code, whatsapp_status FROM clients ORDER BY id LIMIT $1', [options.clientLimit ?? 1000],
  );
  for (const row of clients) {
    const client = await findClientById(ctx.controlDb, row.id);
    if (!client) continue;
    const health = await checkDatasourceHealth(ctx, client);
    add({ name: `client ${row.code}: tenant database`, status: health.ok ? 'ok' : 'fail', detail: health.detail });
    const secrets = await describeSecretsOf(ctx.controlDb, row.id);
    if (row.whatsapp_status === 'needs_token') add({ name: `client ${row.code}: WhatsApp`, status: 'fail', detail: 'Meta rejected the token (190): set a new whatsappToken' });
    else if (!secrets.whatsappToken) add({ name: `client ${row.code}: WhatsApp`, status: 'warn', detail: 'no whatsappToken: sends go to the built-in simulator (WHATSAPP_MODE auto/sandbox) or fail (live)' });
    else if (!secrets.whatsappPhoneNumberId) add({ name: `client ${row.code}: WhatsApp`, status: 'fail', detail: 'whatsappToken set but no whatsappPhoneNumberId: inbound webhooks cannot be routed to this client' });
    else add({ name: `client ${row.code}: WhatsApp`, status: 'ok', detail: `token set, phone number id ${secrets.whatsappPhoneNumberId.hint}` });
    if (secrets.smtpHost) {
      const smtp = await withinMs(verifySmtp(ctx, row.id), 20_000).catch((err: Error) => ({ ok: false, stage: 'check', message: err.message }));
      add({ name: `client ${row.code}: SMTP`, status: smtp.ok ? 'ok' : 'fail', detail: smtp.ok ? `${secrets.smtpHost.hint} accepts our login` : `${(smtp as { stage?: string }).stage ?? ''}: ${(smtp as { message?: string }).message ?? 'failed'}` });
    }
  }
  if (clients.length === 0) add({ name: 'clients', status: 'warn', detail: 'no clients yet (ecodrix clients create)' });
  return checks;
}
