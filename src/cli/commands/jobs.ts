/** `ecodrix jobs stats|stuck|list|show|retry|cancel|kill`: the job queue, without hand-edited SQL. */
import { UsageError, parseFlags, subcommand, type CliCommand } from '../command.ts';

const STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;
const usage = `Usage:
  ecodrix jobs stats                       counts by queue and state, and how many are stuck
  ecodrix jobs stuck [--minutes <n>]       jobs active for longer than n minutes (default 10)
  ecodrix jobs list [--queue <name>] [--state ${STATES.join('|')}] [--limit <n>] [--before <iso time>]
  ecodrix jobs show <id>
  ecodrix jobs retry <id>                  re-queue a failed, cancelled or stuck job
  ecodrix jobs cancel <id>                 cancel a queued or running job
  ecodrix jobs kill <id>                   poison job: no more attempts, recorded as failed
Workflow jobs stay in step with the client's job history. Add --json for machine-readable output.`;

function line(j: { id: string; queue: string; state: string; attempts: number; maxAttempts: number; startAfter: string; output: unknown }): string {
  const error = j.output && typeof j.output === 'object' && 'message' in j.output ? `  ${String((j.output as { message: unknown }).message).slice(0, 80)}` : '';
  return `${j.id}  ${j.queue.padEnd(28)} ${j.state.padEnd(9)} attempt ${j.attempts}/${j.maxAttempts}  due ${j.startAfter}${error}`;
}

export const jobsCommand: CliCommand = {
  name: 'jobs',
  summary: 'job queue: stats, stuck jobs, list, show, retry, cancel, kill',
  usage,
  async run(args, io) {
    const [sub, rest] = subcommand(args, ['stats', 'stuck', 'list', 'show', 'retry', 'cancel', 'kill']);
    const jobs = await import('../../workflows/index.ts');
    if (sub === 'stats') {
      parseFlags(rest, {});
      const stats = await jobs.jobStats(await io.context());
      const lines = [`${'queue'.padEnd(30)} ${STATES.map((s) => s.padStart(9)).join(' ')}`];
      for (const q of stats.queues) lines.push(`${q.name.padEnd(30)} ${STATES.map((s) => String(q[s]).padStart(9)).join(' ')}`);
      lines.push(`${'total'.padEnd(30)} ${STATES.map((s) => String(stats.totals[s]).padStart(9)).join(' ')}`, `stuck (active > 10 min): ${stats.stuck}`);
      io.out(lines, stats);
      return;
    }
    if (sub === 'stuck') {
      const { values } = parseFlags(rest, { minutes: { type: 'string' } });
      const minutes = values.minutes === undefined ? 10 : Number(values.minutes);
      if (!Number.isInteger(minutes) || minutes < 1) throw new UsageError('--minutes must be a positive integer');
      const page = await jobs.stuckJobs(await io.context(), minutes);
      io.out(page.items.length ? page.items.map(line) : [`No job active for more than ${minutes} minutes.`], page);
      return;
    }
    if (sub === 'list') {
      const { values } = parseFlags(rest, { queue: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } });
      const state = values.state as (typeof STATES)[number] | undefined;
      if (state !== undefined && !STATES.includes(state)) throw new UsageError(`--state must be one of ${STATES.join(', ')}`);
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be an integer from 1 to 500');
      if (values.before !== undefined && Number.isNaN(Date.parse(values.before))) throw new UsageError('--before must be an ISO time (nextBefore of a previous page)');
      const page = await jobs.listQueueJobs(await io.context(), { queue: values.queue, state, limit, before: values.before });
      const lines = page.items.length ? page.items.map(line) : ['No jobs.'];
      if (page.nextBefore) lines.push(`More: ecodrix jobs list --before ${page.nextBefore}`);
      io.out(lines, page);
      return;
    }
    const { positionals } = parseFlags(rest, {}, 1);
    const id = positionals[0];
    if (!id) throw new UsageError('a job id is required');
    const ctx = await io.context({ startQueue: sub !== 'show' });
    const run = { show: jobs.showQueueJob, retry: jobs.retryQueueJob, cancel: jobs.cancelQueueJob, kill: jobs.killQueueJob }[sub as 'show'];
    const job = await run(ctx, id);
    io.out(sub === 'show' ? [line(job), `data ${JSON.stringify(job.data)}`, `output ${JSON.stringify(job.output)}`] : `${sub}: ${line(job)}`, job);
  },
};
