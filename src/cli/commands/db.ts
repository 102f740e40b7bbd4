/** `ecodrix db migrate`: apply control database migrations (boot does it; this makes it explicit for deploys). */
import { subcommand, parseFlags, type CliCommand } from '../command.ts';

export const dbCommand: CliCommand = {
  name: 'db',
  summary: 'database maintenance (migrate)',
  usage: `Usage:
  ecodrix db migrate    apply pending control database migrations (tenant databases migrate on first use)`,
  async run(args, io) {
    const [, rest] = subcommand(args, ['migrate']);
    parseFlags(rest, {});
    await io.context(); // boot applies the control migrations
    io.out('Control database migrations are up to date.', { migrated: true });
  },
};
