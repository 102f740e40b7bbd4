/** `ecodrix datasource set --client X --uri postgres://...`: register a client's database (checked by connecting). */
import { CLI_ACTOR, parseFlags, required, subcommand, type CliCommand } from '../command.ts';

const usage = `Usage:
  ecodrix datasource set --client <clientCode> --uri <postgres://user:password@host:5432/database>
The URI is checked by connecting before it is stored (encrypted); it takes effect at once for running servers.`;

export const datasourceCommand: CliCommand = {
  name: 'datasource',
  summary: "register or change a client's tenant database",
  usage,
  async run(args, io) {
    const [, rest] = subcommand(args, ['set']);
    const { values } = parseFlags(rest, { client: { type: 'string' }, uri: { type: 'string' } });
    const code = required(values, 'client');
    const uri = required(values, 'uri');
    const { requireClient, setDatasource } = await import('../../tenants/index.ts');
    const ctx = await io.context();
    const client = await requireClient(ctx, code);
    const result = await setDatasource(ctx, client, uri, CLI_ACTOR);
    io.out(`Datasource for ${result.clientCode} set to ${result.datasource} (connected)`, result);
  },
};
