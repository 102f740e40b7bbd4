/**
 * The sandbox: the built-in WhatsApp simulator, started lazily in-process by
 * whichever role first needs it (a send job, a sandbox route), plus "a customer
 * writes in" and the outbox view. Used for every client when WHATSAPP_MODE=sandbox,
 * and for clients without a whatsappToken when WHATSAPP_MODE=auto.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { readSecrets, setClientSecrets, type ClientAuthRow } from '../tenants/index.ts';
import { sandboxAppSecret } from '../whatsapp/sandbox-secret.ts';
import { WhatsappSimulator, listOutbox, postSignedWebhook, sandboxWabaFor, type OutboxEntry } from './simulator.ts';

export { WhatsappSimulator, type Fault, type OutboxEntry } from './simulator.ts';
export { SAMPLE_TEMPLATES } from './templates.ts';
export { registerSandboxRoutes } from './routes.ts';

const simulators = new WeakMap<AppContext, Promise<WhatsappSimulator>>();
const ownUrls = new WeakMap<AppContext, string>();
const closed = new WeakSet<AppContext>();

/** True when this client talks to the simulator (no token in auto mode, or sandbox mode). */
export function usesSandbox(ctx: AppContext, hasToken: boolean): boolean {
  const mode = ctx.config.whatsapp.mode;
  return mode === 'sandbox' || (mode === 'auto' && !hasToken);
}

/** Where the simulator's webhooks go: this server when it serves HTTP, else SANDBOX_WEBHOOK_URL / PORT. */
export function sandboxWebhookUrl(ctx: AppContext): string {
  const own = ownUrls.get(ctx);
  if (own) return `${own}/api/saas/whatsapp/webhook`;
  return ctx.config.whatsapp.sandboxWebhookUrl ?? `http://127.0.0.1:${ctx.config.port}/api/saas/whatsapp/webhook`;
}

/** Tells the sandbox this process's HTTP address (called once the API listens). */
export function setOwnUrl(ctx: AppContext, url: string): void {
  ownUrls.set(ctx, url);
}

function parseDelays(text: string): [number, number, number] {
  const parts = text.split(',').map((p) => Number(p.trim()));
  const [a = 20, b = 40, c = 80] = parts.map((n) => (Number.isFinite(n) && n >= 0 ? n : 0));
  return [a, b, c];
}

/** The process's simulator (started on first use). */
export function simulatorFor(ctx: AppContext): Promise<WhatsappSimulator> {
  if (closed.has(ctx)) return Promise.reject(new AppError('UPSTREAM_UNAVAILABLE', { message: 'The WhatsApp simulator is shutting down' }));
  let simulator = simulators.get(ctx);
  if (!simulator) {
    const w = ctx.config.whatsapp;
    const instance = new WhatsappSimulator({
      controlDb: ctx.controlDb,
      logger: ctx.logger,
      appSecret: sandboxAppSecret(ctx.keyring),
      webhookUrl: () => sandboxWebhookUrl(ctx),
      statusDelaysMs: parseDelays(w.sandboxStatusDelaysMs),
      failureRate: Math.min(1, Math.max(0, Number(w.sandboxFailureRate) || 0)),
      statusWebhooks: w.sandboxStatusWebhooks,
    });
    simulator = instance.start().then(() => {
      ctx.logger.info({ url: instance.url }, 'WhatsApp simulator started');
      return instance;
    });
    simulators.set(ctx, simulator);
  }
  return simulator;
}

/** Stops the simulator of this context (if it was started). */
export async function closeSimulator(ctx: AppContext): Promise<void> {
  closed.add(ctx);
  const simulator = simulators.get(ctx);
  simulators.delete(ctx);
  if (simulator) await (await simulator).close();
}

/** A stable sandbox phone number id for a client (15 digits, derived, so concurrent callers agree). */
export function sandboxPhoneNumberId(ctx: AppContext, clientId: string): string {
  const hex = ctx.keyring.blindIndex('whatsapp.sandbox-phone-number-id', clientId).replace(/[^0-9a-f]/gi, '').slice(0, 14);
  return `1099${BigInt(`0x${hex}`).toString().padStart(11, '0').slice(-11)}`;
}

export interface SandboxIdentity { phoneNumberId: string; wabaId: string }

/**
 * The client's WhatsApp number and WABA ids, assigning sandbox ones (stored as
 * its secrets, so webhook routing by phone_number_id works) when missing.
 */
export async function ensureSandboxIdentity(ctx: AppContext, client: ClientAuthRow): Promise<SandboxIdentity> {
  const secrets = await readSecrets(ctx, client.id, ['whatsappPhoneNumberId', 'whatsappBusinessId']);
  const phoneNumberId = secrets.whatsappPhoneNumberId ?? sandboxPhoneNumberId(ctx, client.id);
  const wabaId = secrets.whatsappBusinessId ?? sandboxWabaFor(phoneNumberId);
  const missing: Record<string, string> = {};
  if (!secrets.whatsappPhoneNumberId) missing.whatsappPhoneNumberId = phoneNumberId;
  if (!secrets.whatsappBusinessId) missing.whatsappBusinessId = wabaId;
  if (Object.keys(missing).length) {
    await setClientSecrets(ctx, client, missing, { actor: 'sandbox' });
    ctx.logger.info({ client: client.code, phoneNumberId }, 'assigned a sandbox WhatsApp number');
  }
  return { phoneNumberId, wabaId };
}

async function requireSandboxClient(ctx: AppContext, client: ClientAuthRow): Promise<SandboxIdentity> {
  const { whatsappToken } = await readSecrets(ctx, client.id, ['whatsappToken']);
  if (!usesSandbox(ctx, Boolean(whatsappToken))) {
    throw new AppError('SANDBOX_DISABLED', { message: ctx.config.whatsapp.mode === 'live' ? 'The WhatsApp sandbox is off (WHATSAPP_MODE=live)' : 'This client is connected to WhatsApp (it has a whatsappToken); the sandbox does not serve it' });
  }
  return ensureSandboxIdentity(ctx, client);
}

export interface SimulateInboundInput { from: string; text: string; name?: string; webhookUrl?: string }

/**
 * "A customer writes in": records the inbound message in the simulator's window
 * and POSTs a signed inbound webhook for the client's sandbox number.
 */
export async function simulateInbound(ctx: AppContext, client: ClientAuthRow, input: SimulateInboundInput) {
  const from = input.from.replace(/^\+/, '');
  if (!/^[1-9]\d{6,14}$/.test(from)) throw new AppError('VALIDATION_FAILED', { message: 'from must be a phone number in E.164 digits (7 to 15 digits, no leading 0)' });
  if (input.text.length === 0 || input.text.length > 4096) throw new AppError('VALIDATION_FAILED', { message: 'text must be 1 to 4096 characters' });
  const identity = await requireSandboxClient(ctx, client);
  await ctx.controlDb.query(
    `INSERT INTO sandbox_inbound (phone_number_id, wa_id, last_inbound_at) VALUES ($1, $2, now())
     ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET last_inbound_at = now()`,
    [identity.phoneNumberId, from],
  );
  const waMessageId = `wamid.${Buffer.from(`sandbox-in|${from}|${Date.now()}|${Math.random()}`).toString('base64')}`;
  const value = {
    contacts: [{ profile: { name: input.name ?? `Customer ${from.slice(-4)}` }, wa_id: from }],
    messages: [{ from, id: waMessageId, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: input.text } }],
  };
  const envelope = {
    object: 'whatsapp_business_account',
    entry: [{ id: identity.wabaId, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: `1555${identity.phoneNumberId.slice(-7)}`, phone_number_id: identity.phoneNumberId }, ...value } }] }],
  };
  const url = input.webhookUrl ?? sandboxWebhookUrl(ctx);
  const webhookStatus = await postSignedWebhook(url, JSON.stringify(envelope), sandboxAppSecret(ctx.keyring), ctx.logger);
  if (webhookStatus !== 200) {
    throw new AppError('UPSTREAM_UNAVAILABLE', { message: `The webhook endpoint did not accept the simulated message (${webhookStatus === 0 ? 'unreachable' : `HTTP ${webhookStatus}`}) at ${url}` });
  }
  return { waMessageId, from, phoneNumberId: identity.phoneNumberId, delivered: true };
}

/** What the simulator was asked to send for this client, newest first. */
export async function sandboxOutbox(ctx: AppContext, client: ClientAuthRow, limit: number): Promise<{ phoneNumberId: string; items: OutboxEntry[] }> {
  const identity = await requireSandboxClient(ctx, client);
  return { phoneNumberId: identity.phoneNumberId, items: await listOutbox(ctx.controlDb, identity.phoneNumberId, limit) };
}

/** Drops simulator records older than a week (called by the daily template sync fan-out). */
export async function pruneSandbox(ctx: AppContext): Promise<void> {
  await ctx.controlDb.query(`DELETE FROM sandbox_outbox WHERE created_at < now() - interval '7 days'`);
  await ctx.controlDb.query(`DELETE FROM sandbox_inbound WHERE last_inbound_at < now() - interval '7 days'`);
}

/** Registers the lifecycle hooks that tie the simulator to the HTTP app. */
export function attachSandboxLifecycle(app: FastifyInstance, ctx: AppContext): void {
  app.addHook('onListen', async () => {
    const address = app.server.address();
    if (address && typeof address === 'object') {
      const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
      setOwnUrl(ctx, `http://${host}:${address.port}`);
    }
  });
  app.addHook('onClose', async () => {
    await closeSimulator(ctx);
  });
}
