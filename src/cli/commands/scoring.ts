/** `ecodrix scoring recalc [--client <code> | --all]`: recalculates lead scores with a progress bar. */
import { randomUUID } from 'node:crypto';
import { recalculateClientScores } from '../../crm/index.ts';
import { describeDatasource, listClients, requireClient, tenantDbById } from '../../tenants/index.ts';
import { UsageError, parseFlags, progressBar, subcommand, type CliCommand } from '../command.ts';

const usage = `Usage:
  ecodrix scoring recalc --client <clientCode> [--batch <n>]
  ecodrix scoring recalc --all [--batch <n>]
Recalculates every lead score of one client (or of every client with a tenant database),
in set-based batches, with a progress bar on stderr. Add --json for machine-readable output.`;


export const scoringCommand: CliCommand = {
  name: 'scoring',
  summary: 'recalculate lead scores for one client or all clients',
  usage,
  async run(args, io) {
    const [, rest] = subcommand(args, ['recalc']);
    const { values } = parseFlags(rest, { client: { type: 'string' }, all: { type: 'boolean' }, batch: { type: 'string' } });
    if (Boolean(values.client) === Boolean(values.all)) throw new UsageError('give either --client <clientCode> or --all');
    const batchSize = values.batch === undefined ? undefined : Number(values.batch);
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)) throw new UsageError('--batch must be an integer from 1 to 100000');
    const ctx = await io.context();
    const targets: Array<{ id: string; code: string }> = [];
    if (values.client) {
      const client = await requireClient(ctx, values.client);
      targets.push({ id: client.id, code: client.code });
    } else {
      let cursor: string | undefined;
      do {
        const page = await listClients(ctx, { limit: 500, cursor });
        for (const c of page.items) if (await describeDatasource(ctx, c.id)) targets.push({ id: c.id, code: c.clientCode });
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    const runKey = `cli:${randomUUID()}`;
    const results = [];
    for (const target of targets) {
      const started = performance.now();
      const pool = await tenantDbById(ctx, target.id);
      const result = await recalculateClientScores(ctx, pool, { clientId: target.id, runKey, now: new Date(), reason: 'cli', batchSize, onProgress: progressBar(io, target.code) });
      if (process.stderr.isTTY && !io.json) process.stderr.write('\n');
      const seconds = (performance.now() - started) / 1000;
      results.push({ clientCode: target.code, processed: result.processed, changed: result.changed, seconds: Number(seconds.toFixed(2)) });
    }
    io.out(
      results.length === 0 ? ['No client with a tenant database.'] : results.map((r) => `${r.clientCode}: ${r.processed} leads scored, ${r.changed} changed in ${r.seconds} s`),
      { runKey, clients: results },
    );
  },
};
