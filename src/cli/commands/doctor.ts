/** `ecodrix doctor`: configuration, databases, keyring, queue and per-client checks. */
import { runDoctor } from '../../operations/doctor.ts';
import { parseFlags, type CliCommand } from '../command.ts';

const usage = `Usage:
  ecodrix doctor [--json]
Checks configuration, the control database (server, synchronous_commit, migrations), the keyring and
envelopes still under an old key, the job queue, and every client's tenant database and WhatsApp token state.
Exit code 1 when any check fails.`;

const marks = { ok: '✔', warn: '!', fail: '✖' } as const;

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'check configuration, databases, keys, queue and every client',
  usage,
  async run(args, io) {
    parseFlags(args, {});
    const ctx = await io.context({ startQueue: true });
    const checks = await runDoctor(ctx, { onCheck: io.json ? undefined : (c) => io.err(`${marks[c.status]} ${c.name}: ${c.detail}`) });
    const failed = checks.filter((c) => c.status === 'fail').length;
    const warned = checks.filter((c) => c.status === 'warn').length;
    io.out(`${checks.length} checks: ${checks.length - failed - warned} ok, ${warned} warnings, ${failed} failed`, { checks, failed, warned });
    return failed > 0 ? 1 : 0;
  },
};
