/** Tests the client's stored SMTP settings (connect, TLS, auth) and says what failed. */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { loadSender } from './deliver.ts';

const WINDOW_MS = 60_000;
const PER_WINDOW = 10;
const recent = new Map<string, number[]>();

/** At most 10 checks per client per minute (per process): verify must not become a port scanner. */
function guard(clientId: string, now = Date.now()): void {
  const times = (recent.get(clientId) ?? []).filter((t) => now - t < WINDOW_MS);
  if (times.length >= PER_WINDOW) throw new AppError('RATE_LIMITED', { message: 'Too many SMTP checks; try again in a minute', retryAfterSeconds: Math.ceil((times[0] + WINDOW_MS - now) / 1000) });
  times.push(now);
  recent.set(clientId, times);
  if (recent.size > 10_000) recent.delete(recent.keys().next().value!);
}

export async function verifySmtp(ctx: AppContext, clientId: string) {
  guard(clientId);
  const sender = await loadSender(ctx, clientId);
  if (!sender.smtp) {
    return { ok: false, stage: 'settings', sandbox: true, message: 'No SMTP settings (smtpHost) for this client: email goes to the sandbox mail catcher (GET /api/sandbox/mail)' };
  }
  const result = await ctx.mailer.verify(sender.smtp);
  return { ...result, sandbox: false, host: sender.smtp.host, port: sender.smtp.port, security: sender.smtp.port === 465 ? 'tls' : 'starttls' };
}
