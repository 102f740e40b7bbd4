/**
 * `ecodrix test-worker` (also `npm run test:worker -- ...`): the original test CLI. Schedules one
 * template send for a client and, with --watch, polls every 3 s printing each state change until
 * the job completes or fails. The running server's workers execute the job.
 */
import { UsageError, parseFlags, required, type CliCommand } from '../command.ts';

const usage = `Usage:
  npm run test:worker -- --clientCode <code> --phone <E.164 digits> --template <name> [--language en_US]
                         [--delay <seconds>] [--var <value> ...] [--watch]
--delay schedules the send that many seconds ahead; --var (repeatable) sets the template variables
(default: the sample "Dhanesh" "Dr. Arjun" "Monday 10AM" "abc-xyz"); --watch polls every 3 s until
completed or failed. A server with the worker role (npm start) must be running.`;

const FINAL = ['completed', 'failed', 'skipped', 'cancelled'];

/** 3 s as in the original contract; tests shorten it with ECODRIX_TEST_WATCH_INTERVAL_MS (not a documented setting). */
function watchIntervalMs(): number {
  const override = Number(process.env.ECODRIX_TEST_WATCH_INTERVAL_MS);
  return Number.isInteger(override) && override > 0 ? override : 3000;
}

export const testWorkerCommand: CliCommand = {
  name: 'test-worker',
  summary: 'schedule a test WhatsApp template send and watch it (npm run test:worker)',
  usage,
  async run(args, io) {
    const { values } = parseFlags(args, {
      clientCode: { type: 'string' }, phone: { type: 'string' }, template: { type: 'string' }, language: { type: 'string' },
      delay: { type: 'string' }, var: { type: 'string', multiple: true }, watch: { type: 'boolean' },
    } as const);
    const clientCode = required(values, 'clientCode');
    const phone = required(values, 'phone');
    const template = required(values, 'template');
    const delaySeconds = values.delay === undefined ? 0 : Number(values.delay);
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 31_536_000) throw new UsageError('--delay must be a whole number of seconds (0 or more)');
    const variables = values.var as unknown as string[] | undefined;
    const { scheduleTestSend, readTestJob } = await import('../../workflows/index.ts');
    const ctx = await io.context({ startQueue: true });
    const { clientId, job } = await scheduleTestSend(ctx, { clientCode, phone, template, language: values.language, delaySeconds, variables });
    io.out(`Scheduled job ${job.id}: ${template} to ${phone} at ${job.runAt} (${job.status})`, job);
    if (!values.watch) return;
    let last = job.status;
    for (;;) {
      await new Promise((r) => setTimeout(r, watchIntervalMs()));
      const now = await readTestJob(ctx, clientId, job.id);
      if (now.status !== last) {
        last = now.status;
        io.out(`${new Date().toISOString()}  ${now.status}  attempts ${now.attempts}${now.lastError ? `  ${now.lastError}` : ''}${now.output?.messageId ? `  message ${String(now.output.messageId)}` : ''}`, now);
      }
      if (FINAL.includes(now.status)) return now.status === 'completed' ? 0 : 1;
      if (Date.parse(now.runAt) < Date.now() - 60_000 && now.status === 'pending') io.err('still pending a minute after its run time: is a server with the worker role running?');
    }
  },
};
