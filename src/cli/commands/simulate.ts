/** `ecodrix simulate inbound --client X --from 15550000001 --text "hi"`: a customer writes in (sandbox). */
import { parseFlags, required, subcommand, UsageError, type CliCommand } from '../command.ts';

const usage = `Usage:
  ecodrix simulate inbound --client <clientCode> --from <phone> --text <message> [--name <customer name>] [--url <server URL>]
Sends a signed WhatsApp webhook, as Meta would, for the client's sandbox number to the running
server (default http://127.0.0.1:$PORT), so the message shows up in the client's inbox.
Only for sandbox clients (no whatsappToken, or WHATSAPP_MODE=sandbox).`;

export const simulateCommand: CliCommand = {
  name: 'simulate',
  summary: 'WhatsApp sandbox: make a customer write in to a client',
  usage,
  async run(args, io) {
    const [, rest] = subcommand(args, ['inbound']);
    const { values } = parseFlags(rest, { client: { type: 'string' }, from: { type: 'string' }, text: { type: 'string' }, name: { type: 'string' }, url: { type: 'string' } });
    const code = required(values, 'client');
    const from = required(values, 'from');
    const text = required(values, 'text');
    if (values.url !== undefined && !/^https?:\/\//.test(values.url)) throw new UsageError('--url must be an http(s) URL');
    const { requireClient } = await import('../../tenants/index.ts');
    const { simulateInbound } = await import('../../sandbox/index.ts');
    const ctx = await io.context();
    const client = await requireClient(ctx, code);
    const base = (values.url ?? `http://127.0.0.1:${ctx.config.port}`).replace(/\/+$/, '');
    const result = await simulateInbound(ctx, client, { from, text, name: values.name, webhookUrl: `${base}/api/saas/whatsapp/webhook` });
    io.out(`Delivered to ${client.code} (sandbox number ${result.phoneNumberId}) from ${result.from}: ${result.waMessageId}`, result);
  },
};
