/** `ecodrix secrets set --client X --whatsappToken ...`: encrypted client secrets (partial update). */
import { SECRET_FIELDS, type ClientSecrets } from '../../tenants/secrets.ts';
import { CLI_ACTOR, UsageError, parseFlags, required, subcommand, type CliCommand } from '../command.ts';

const usage = `Usage:
  ecodrix secrets set --client <clientCode> --<field> <value> [--<field> <value> ...]
Fields: ${SECRET_FIELDS.join(', ')}.
Only the given fields change. Values are encrypted at rest and never printed back (only a masked hint).
Tip: values typed on a command line can end up in shell history; prefer --field "$VAR".`;

export const secretsCommand: CliCommand = {
  name: 'secrets',
  summary: "set a client's secrets (WhatsApp, SMTP, automation), encrypted at rest",
  usage,
  async run(args, io) {
    const [, rest] = subcommand(args, ['set']);
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
