/** `ecodrix scoring recalc [--client <code> | --all]`: recalculates lead scores with a progress bar. */
import { randomUUID } from 'node:crypto';
import { recalculateClientScores } from '../../crm/index.ts';
import { describeDatasource, listClients, requireClient, tenantDbById } from '../../tenants/index.ts';
import { UsageError, parseFlags, subcommand, type CliCommand, type CliIo } from '../command.ts';

const usage = `Usage:
  ecodrix scoring recalc --client <clientCode> [--batch <n>]
  ecodrix scoring recalc --all [--batch <n>]
Recalculates every lead score of one client (or of every client with a tenant database),
in set-based batches, with a progress bar on stderr. Add --json for machine-readable output.`;

function bar(io: CliIo, label: string) {
  const tty = process.stderr.isTTY && !io.json;
  let lastLine = 0;
  return (p: { processed: number; total: number }) => {
    const ratio = p.total === 0 ? 1 : Math.min(1, p.processed / p.total);
    const line = `${label} [${'#'.repeat(Math.round(ratio * 30)).padEnd(30, '.')}] ${p.processed}/${p.total} ${Math.round(ratio * 100)}%`;
    if (tty) process.stderr.write(`\r${line}`);
    else if (Date.now() - lastLine > 1000 || ratio === 1) { io.err(line); lastLine = Date.now(); }
  };
}

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
      const result = await recalculateClientScores(ctx, pool, { clientId: target.id, runKey, now: new Date(), reason: 'cli', batchSize, onProgress: bar(io, target.code) });
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
