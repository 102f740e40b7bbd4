/**
 * `ecodrix secrets set --client X --whatsappToken ...`: encrypted client secrets (partial update).
 * `ecodrix secrets rotate-key`: re-encrypts every stored envelope under the active key.
 */
import { SECRET_FIELDS, type ClientSecrets } from '../../tenants/secrets.ts';
import { CLI_ACTOR, UsageError, parseFlags, progressBar, required, subcommand, type CliCommand, type CliIo } from '../command.ts';

const usage = `Usage:
  ecodrix secrets set --client <clientCode> --<field> <value> [--<field> <value> ...]
Fields: ${SECRET_FIELDS.join(', ')}.
Only the given fields change. Values are encrypted at rest and never printed back (only a masked hint).
Tip: values typed on a command line can end up in shell history; prefer --field "$VAR".

  ecodrix secrets rotate-key [--batch <n>] [--check]
Re-encrypts every stored secret, datasource URI and Google token under the ACTIVE key (the first of
ENCRYPTION_KEYS), with a progress bar. Resumable and safe while servers run (OPERATIONS.md §4).
--check only counts what is still under an older key (exit 1 if anything is).`;

async function rotateKey(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, { batch: { type: 'string' }, check: { type: 'boolean' } });
  const batchSize = values.batch === undefined ? 200 : Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new UsageError('--batch must be an integer from 1 to 10000');
  const { encryptedColumns } = await import('../../encrypted-columns.ts');
  const { countStale, reencryptColumn } = await import('../../platform/crypto/reencrypt.ts');
  const { recordAudit } = await import('../../audit/record-audit.ts');
  const ctx = await io.context();
  const report: Array<{ column: string; reencrypted: number; remaining: number }> = [];
  for (const column of encryptedColumns) {
    const reencrypted = values.check ? 0 : await reencryptColumn(ctx.controlDb, ctx.keyring, column, {
      batchSize,
      onProgress: ((bar) => (p: { done: number; total: number }) => bar({ processed: p.done, total: p.total }))(progressBar(io, column.label)),
    });
    report.push({ column: column.label, reencrypted, remaining: await countStale(ctx.controlDb, ctx.keyring, column) });
  }
  const remaining = report.reduce((n, r) => n + r.remaining, 0);
  if (!values.check) await recordAudit(ctx.controlDb, { ...CLI_ACTOR, action: 'secrets.rotate-key', details: { activeKeyId: ctx.keyring.activeId, report } });
  io.out([
    ...report.map((r) => `${r.column.padEnd(24)} ${values.check ? '' : `re-encrypted ${r.reencrypted}, `}${r.remaining} under an older key`),
    remaining === 0 ? `Everything is under the active key ${ctx.keyring.activeId}; older keys can be removed from ENCRYPTION_KEYS.` : `${remaining} envelope(s) still under an older key.`,
  ], { activeKeyId: ctx.keyring.activeId, columns: report, remaining });
  return remaining === 0 ? 0 : 1;
}

export const secretsCommand: CliCommand = {
  name: 'secrets',
  summary: "set a client's secrets (WhatsApp, SMTP, automation), encrypted at rest; rotate the encryption key",
  usage,
  async run(args, io) {
    const [sub, rest] = subcommand(args, ['set', 'rotate-key']);
    if (sub === 'rotate-key') return rotateKey(rest, io);
    const options = Object.fromEntries([['client', { type: 'string' as const }], ...SECRET_FIELDS.map((f) => [f, { type: 'string' as const }])]);
    const { values } = parseFlags(rest, options);
    const code = required(values, 'client');
    const secrets: ClientSecrets = {};
    for (const field of SECRET_FIELDS) {
      const value = values[field];
      if (typeof value === 'string') {
        if (value === '') throw new UsageError(`--${field} cannot be empty`);
        secrets[field] = value;
      }
    }
    if (Object.keys(secrets).length === 0) throw new UsageError('give at least one secret field');
    if (secrets.smtpPort !== undefined && !/^[0-9]{1,5}$/.test(secrets.smtpPort)) throw new UsageError('--smtpPort must be a port number');
    const { requireClient, setClientSecrets } = await import('../../tenants/index.ts');
    const ctx = await io.context();
    const client = await requireClient(ctx, code);
    const result = await setClientSecrets(ctx, client, secrets, CLI_ACTOR);
    io.out([
      `Updated ${result.updated.join(', ')} for ${result.clientCode}`,
      ...Object.entries(result.secrets).map(([field, s]) => `  ${field.padEnd(24)} ${s.hint}`),
    ], result);
  },
};
