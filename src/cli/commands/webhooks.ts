/** `ecodrix webhooks list|replay`: the WhatsApp webhook inbox (parked, unroutable and dead-lettered deliveries). */
import { UsageError, parseFlags, subcommand, type CliCommand } from '../command.ts';

const STATES = ['pending', 'processing', 'done', 'unroutable', 'dead'] as const;

const usage = `Usage:
  ecodrix webhooks list [--state pending|processing|done|unroutable|dead] [--limit <n>] [--before <id>]
  ecodrix webhooks replay <id>
A replayed row (dead, unroutable or done) goes back to pending and is processed again by the
running workers; applying it is idempotent. Add --json for machine-readable output.`;

export const webhooksCommand: CliCommand = {
  name: 'webhooks',
  summary: 'list or replay WhatsApp webhook inbox rows (dead-lettered, unroutable ...)',
  usage,
  async run(args, io) {
    const [sub, rest] = subcommand(args, ['list', 'replay']);
    const { listWebhookInbox, replayWebhook } = await import('../../whatsapp/index.ts');
    if (sub === 'list') {
      const { values } = parseFlags(rest, { state: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } });
      const state = values.state as (typeof STATES)[number] | undefined;
      if (state !== undefined && !STATES.includes(state)) throw new UsageError(`--state must be one of ${STATES.join(', ')}`);
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be an integer from 1 to 500');
      if (values.before !== undefined && !/^[0-9]{1,18}$/.test(values.before)) throw new UsageError('--before must be an inbox row id');
      const page = await listWebhookInbox(await io.context(), { state, limit, before: values.before });
      const lines = page.webhooks.length === 0 ? ['No webhook rows.'] : page.webhooks.map((w) => {
        const why = w.lastError ?? (w.unroutable.length ? w.unroutable.map((u) => u.reason).join(', ') : '');
        return `${w.id.padStart(8)}  ${w.state.padEnd(10)} attempts ${w.attempts}  ${w.receivedAt}  ${w.size} B${w.clientIds.length ? `  clients ${w.clientIds.join(',')}` : ''}${why ? `  ${why}` : ''}`;
      });
      if (page.nextBefore) lines.push(`More: ecodrix webhooks list${state ? ` --state ${state}` : ''} --before ${page.nextBefore}`);
      io.out(lines, page);
      return;
    }
    const { positionals } = parseFlags(rest, {}, 1);
    const id = positionals[0];
    if (!id || !/^[0-9]{1,18}$/.test(id)) throw new UsageError('an inbox row id is required');
    const result = await replayWebhook(await io.context(), id, { actor: 'cli' });
    io.out(`Webhook ${id} was ${result.previousState}; queued again`, result);
  },
};
