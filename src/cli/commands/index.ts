/**
 * Every CLI command group. To add one: create `commands/<group>.ts` exporting a
 * `CliCommand` (see ../command.ts: name, summary, usage, run(args, io)), then
 * add ONE import and ONE entry to the list below. Keep the group's logic in the
 * domain's use cases; a command only parses flags, calls them and prints.
 * Import those use cases inside `run` (`await import('../../<domain>/index.ts')`)
 * so that `--help` and usage errors answer without loading the whole app.
 */
import type { CliCommand } from '../command.ts';
import { auditCommand } from './audit.ts';
import { clientsCommand } from './clients.ts';
import { datasourceCommand } from './datasource.ts';
import { dbCommand } from './db.ts';
import { jobsCommand } from './jobs.ts';
import { testWorkerCommand } from './test-worker.ts';
import { doctorCommand } from './doctor.ts';
import { secretsCommand } from './secrets.ts';
import { scoringCommand } from './scoring.ts';
import { simulateCommand } from './simulate.ts';
import { webhooksCommand } from './webhooks.ts';

export const commands: CliCommand[] = [
  clientsCommand,
  secretsCommand,
  datasourceCommand,
  dbCommand,
  jobsCommand,
  testWorkerCommand,
  doctorCommand,
  auditCommand,
  simulateCommand,
  webhooksCommand,
  scoringCommand,
];
