/** `ecodrix clients create|list|show|rotate-key|delete`: the admin client use cases. */
import { CLI_ACTOR, UsageError, parseFlags, required, subcommand, type CliCommand } from '../command.ts';

const usage = `Usage:
  ecodrix clients create --name <business name> --email <email> [--code <clientCode>]
  ecodrix clients list [--limit <n>] [--cursor <cursor>]
  ecodrix clients show <clientCode>
  ecodrix clients rotate-key <clientCode>
  ecodrix clients delete <clientCode> --yes
Add --json for machine-readable output. The API key is printed once (create, rotate-key).`;

function codeArg(positionals: string[], values: { client?: string }): string {
  const code = positionals[0] ?? values.client;
  if (!code) throw new UsageError('a client code is required');
  return code;
}

export const clientsCommand: CliCommand = {
  name: 'clients',
  summary: 'create, list, show, rotate the key of, or delete clients',
  usage,
  async run(args, io) {
    const [sub, rest] = subcommand(args, ['create', 'list', 'show', 'rotate-key', 'delete']);
    const { createClient, deleteClient, listClients, rotateClientKey, showClient } = await import('../../tenants/index.ts');
    switch (sub) {
      case 'create': {
        const { values } = parseFlags(rest, { name: { type: 'string' }, email: { type: 'string' }, code: { type: 'string' } });
        const name = required(values, 'name');
        const email = required(values, 'email');
        if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError('--email must be an email address');
        const created = await createClient(await io.context(), { name, email, clientCode: values.code, ...CLI_ACTOR });
        io.out([
          `Created client ${created.clientCode} (${created.name}, id ${created.id})`,
          `API key (shown once, store it now): ${created.apiKey}`,
        ], created);
        return;
      }
      case 'list': {
        const { values } = parseFlags(rest, { limit: { type: 'string' }, cursor: { type: 'string' } });
        const limit = values.limit === undefined ? 50 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be an integer from 1 to 1000');
        if (values.cursor !== undefined && !/^[0-9]{1,19}$/.test(values.cursor)) throw new UsageError('--cursor must be the nextCursor of a previous page');
        const page = await listClients(await io.context(), { limit, cursor: values.cursor });
        const lines = page.items.length === 0 ? ['No clients.'] : page.items.map((c) => `${c.clientCode.padEnd(24)} ${c.name}  <${c.email}>  key ${c.apiKeyHint}  whatsapp ${c.whatsappStatus}`);
        if (page.nextCursor) lines.push(`More: ecodrix clients list --cursor ${page.nextCursor}`);
        io.out(lines, page);
        return;
      }
      case 'show': {
        const { values, positionals } = parseFlags(rest, { client: { type: 'string' } }, 1);
        const client = await showClient(await io.context(), codeArg(positionals, values));
        const secretLines = Object.entries(client.secrets).map(([field, s]) => `  ${field.padEnd(24)} ${s.hint}`);
        io.out([
          `${client.clientCode}  ${client.name} <${client.email}>  (id ${client.id}, created ${client.createdAt})`,
          `API key: ${client.apiKeyHint} (issued ${client.apiKeyCreatedAt})`,
          `WhatsApp: ${client.whatsappStatus}${client.whatsappStatusReason ? ` (${client.whatsappStatusReason})` : ''}`,
          `Datasource: ${client.datasource ? `${client.datasource.uri}${client.datasource.provisioned ? ' (provisioned)' : ''}` : 'none'}`,
          secretLines.length ? 'Secrets:' : 'Secrets: none',
          ...secretLines,
        ], client);
        return;
      }
      case 'rotate-key': {
        const { values, positionals } = parseFlags(rest, { client: { type: 'string' } }, 1);
        const rotated = await rotateClientKey(await io.context(), codeArg(positionals, values), CLI_ACTOR);
        io.out([
          `New API key for ${rotated.clientCode} (shown once; the old key no longer works): ${rotated.apiKey}`,
        ], rotated);
        return;
      }
      case 'delete': {
        const { values, positionals } = parseFlags(rest, { client: { type: 'string' }, yes: { type: 'boolean' } }, 1);
        const code = codeArg(positionals, values);
        if (!values.yes) throw new UsageError(`deleting ${code} removes its keys, secrets and CORS origins; add --yes to confirm`);
        const deleted = await deleteClient(await io.context(), code, CLI_ACTOR);
        const failed = deleted.offboarding.filter((o) => o.outcome === 'failed').map((o) => `\n  warning: ${o.step}: ${o.error}`).join('');
        io.out(`Deleted client ${deleted.clientCode} (its tenant database was left in place)${failed}`, deleted);
        return;
      }
    }
  },
};
