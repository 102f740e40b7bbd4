/** `ecodrix audit list [--client X] [--action A] [--limit N] [--before ID]`: the audit log. */
import { UsageError, parseFlags, subcommand, type CliCommand } from '../command.ts';

const usage = `Usage:
  ecodrix audit list [--client <clientCode>] [--action <action>] [--limit <n>] [--before <id>]
Shows who did what, when and from where (admin API, CLI, key rotations, webhook replays), newest first.
Secret values are never recorded, only which fields changed.`;

export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'show the audit log of admin and CLI actions',
  usage,
  async run(args, io) {
    const [, rest] = subcommand(args, ['list']);
    const { values } = parseFlags(rest, { client: { type: 'string' }, action: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } });
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError('--limit must be an integer from 1 to 200');
    if (values.before !== undefined && !/^[0-9]{1,19}$/.test(values.before)) throw new UsageError('--before must be an entry id');
    const { queryAudit } = await import('../../audit/routes.ts');
    const ctx = await io.context();
    const page = await queryAudit(ctx, { clientCode: values.client, action: values.action, limit, before: values.before });
    io.out(page.items.length ? page.items.map((e) => `${e.id.padStart(6)}  ${e.at}  ${e.actor.padEnd(10)} ${e.action.padEnd(22)} ${(e.clientCode ?? '').padEnd(18)} ${e.ip ?? ''}  ${JSON.stringify(e.details)}`) : 'No audit entries.', page);
  },
};
