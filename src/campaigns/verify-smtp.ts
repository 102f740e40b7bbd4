/** Tests the client's stored SMTP settings (connect, TLS, auth) and says what failed. */
import type { AppContext } from '../context.ts';
import { loadSender } from './deliver.ts';

export async function verifySmtp(ctx: AppContext, clientId: string) {
  const sender = await loadSender(ctx, clientId);
  if (!sender.smtp) {
    return { ok: false, stage: 'settings', sandbox: true, message: 'No SMTP settings (smtpHost) for this client: email goes to the sandbox mail catcher (GET /api/sandbox/mail)' };
  }
  const result = await ctx.mailer.verify(sender.smtp);
  return { ...result, sandbox: false, host: sender.smtp.host, port: sender.smtp.port, security: sender.smtp.port === 465 ? 'tls' : 'starttls' };
}
