/**
 * The WhatsApp simulator: a fake Graph API on a loopback port that speaks the
 * Cloud API's request and response shapes. It validates sends the way Meta
 * does (shape, template existence and parameter count, the 24-hour window from
 * its own record of inbound messages), answers with `wamid.` ids or Meta's
 * error bodies, records what it was asked to send (sandbox_outbox), then
 * delivers signed status webhooks (sent → delivered → read) to the server.
 *
 * Magic recipients: numbers starting 1555999 are "not on WhatsApp" (failed
 * 131026 status). Tests can script faults with `inject()`.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { Logger } from '../platform/logger.ts';
import { signBody } from '../whatsapp/verify-signature.ts';
import { parameterCounts, type SendComponent } from '../whatsapp/template-rules.ts';
import { SAMPLE_TEMPLATES } from './templates.ts';

export interface SimulatorOptions {
  controlDb: pg.Pool;
  logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** Secret the status webhooks are signed with. */
  appSecret: string;
  /** Where webhooks go (resolved at delivery time; undefined = nowhere yet). */
  webhookUrl: () => string | undefined;
  statusDelaysMs: [number, number, number];
  failureRate: number;
  statusWebhooks: boolean;
}

/** A scripted fault: the next `times` matching requests answer with Meta error `code` (or hang). */
export interface Fault {
  /** 'messages' | 'media' | 'message_templates' (default messages). */
  endpoint?: string;
  /** Meta error code to answer with (fixture-shaped body). */
  code?: number;
  /** Process the request normally but answer only after this many ms (a lost response). */
  delayMs?: number;
  /** Do not process the request at all; answer 500 only after this many ms (Meta never got it). */
  hangMs?: number;
  times?: number;
}

export interface OutboxEntry { id: string; phoneNumberId: string; to: string | null; waMessageId: string | null; type: string | null; payload: unknown; outcome: string; errorCode: number | null; createdAt: string }

const ERROR_TEXT: Record<number, { title: string; details: string; status: number }> = {
  100: { title: 'Invalid parameter', details: 'Invalid parameter', status: 400 },
  190: { title: 'Error validating access token: Session has expired', details: '', status: 401 },
  130429: { title: 'Rate limit hit', details: 'Cloud API message throughput has been reached.', status: 400 },
  131000: { title: 'Something went wrong', details: 'Something went wrong', status: 500 },
  131008: { title: 'Required parameter is missing', details: 'Required parameter is missing', status: 400 },
  131009: { title: 'Parameter value is not valid', details: 'Parameter value is not valid', status: 400 },
  131026: { title: 'Message undeliverable', details: 'Message Undeliverable.', status: 400 },
  131047: { title: 'Re-engagement message', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.', status: 400 },
  131056: { title: '(Business Account, Consumer Account) pair rate limit hit', details: 'Too many messages sent from this phone number to the same phone number in a short period of time.', status: 400 },
  132000: { title: 'Number of parameters does not match the expected number of params', details: 'body: number of localizable_params does not match the expected number of params', status: 400 },
  132001: { title: 'Template name does not exist in the translation', details: 'template name does not exist in the translation', status: 404 },
};

class MetaError extends Error {
  readonly code: number;
  readonly details: string;
  constructor(code: number, details?: string) {
    super(ERROR_TEXT[code]?.title ?? 'Error');
    this.code = code;
    this.details = details ?? ERROR_TEXT[code]?.details ?? this.message;
  }
}

export function metaErrorBody(code: number, details?: string) {
  const text = ERROR_TEXT[code] ?? { title: 'Error', details: details ?? '', status: 400 };
  const error: Record<string, unknown> = {
    message: code === 190 ? 'Error validating access token: Session has expired.' : `(#${code}) ${text.title}`,
    type: 'OAuthException', code,
    fbtrace_id: `Asim${randomBytes(6).toString('hex')}`,
  };
  if (code === 190) error.error_subcode = 463;
  else error.error_data = { messaging_product: 'whatsapp', details: details ?? text.details };
  return { status: text.status, body: { error } };
}

/** WABA id the simulator reports for a sandbox number. */
export function sandboxWabaFor(phoneNumberId: string): string {
  return `2${BigInt(`0x${createHash('sha256').update(`waba|${phoneNumberId}`).digest('hex').slice(0, 12)}`).toString().padStart(14, '0').slice(0, 14)}`;
}

function displayNumber(phoneNumberId: string): string {
  return `1555${phoneNumberId.slice(-7)}`;
}

function newWamid(to: string): string {
  const digits = Buffer.from(to);
  return `wamid.${Buffer.concat([Buffer.from([0x15, 0x18, digits.length]), digits, Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, 0x12]), Buffer.from(randomBytes(9).toString('hex').toUpperCase()), Buffer.from([0x00])]).toString('base64')}`;
}

const TYPES = new Set(['text', 'image', 'video', 'audio', 'document', 'sticker', 'template', 'interactive', 'reaction', 'location', 'contacts']);

export class WhatsappSimulator {
  url = '';
  private readonly options: SimulatorOptions;
  private readonly server: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faults: Fault[] = [];
  private readonly wabas = new Map<string, string>();
  private closed = false;
  private readonly pendingRecords: Array<{ values: unknown[]; resolve: () => void; reject: (err: unknown) => void }> = [];
  private flushing = false;
  /** Requests received (all endpoints), for tests and the bench. */
  requests = 0;
  /** Called with the arrival time of each send request (bench: pickup latency). */
  onSend?: (at: number, payload: Record<string, unknown>) => void;

  constructor(options: SimulatorOptions) {
    this.options = options;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.server.unref();
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    await this.options.controlDb.query(`DELETE FROM sandbox_outbox WHERE created_at < now() - interval '7 days'`).catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The WABA id to put in webhooks for a number (the client's own when it has one). */
  rememberWaba(phoneNumberId: string, wabaId: string): void {
    this.wabas.set(phoneNumberId, wabaId);
  }

  /** Scripts the next matching requests (tests). */
  inject(fault: Fault): void {
    this.faults.push({ endpoint: 'messages', times: 1, ...fault });
  }

  /** Records that `waId` wrote to `phoneNumberId` now (opens the simulator's 24-hour window). */
  async recordInbound(phoneNumberId: string, waId: string, at = new Date()): Promise<void> {
    await this.options.controlDb.query(
      `INSERT INTO sandbox_inbound (phone_number_id, wa_id, last_inbound_at) VALUES ($1, $2, $3)
       ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET last_inbound_at = GREATEST(sandbox_inbound.last_inbound_at, EXCLUDED.last_inbound_at)`,
      [phoneNumberId, waId, at],
    );
  }

  async outbox(phoneNumberId: string, limit = 50): Promise<OutboxEntry[]> {
    return listOutbox(this.options.controlDb, phoneNumberId, limit);
  }

  private takeFault(endpoint: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.endpoint === endpoint);
    if (index < 0) return undefined;
    const fault = this.faults[index];
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests++;
    const arrived = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const send = (status: number, body: unknown) => {
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: MetaError) => {
      const { status, body } = metaErrorBody(err.code, err.details);
      send(status, body);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://simulator');
      const parts = url.pathname.split('/').filter(Boolean);
      if (parts.length < 2 || !/^v\d+\.\d+$/.test(parts[0])) return send(404, { error: { message: 'Unknown path', type: 'GraphMethodException', code: 100 } });
      if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) return fail(new MetaError(190));
      const endpoint = parts[2] ?? '';
      const fault = this.takeFault(endpoint);
      if (fault?.code !== undefined) return fail(new MetaError(fault.code));
      if (fault?.hangMs) {
        const timer = setTimeout(() => { this.timers.delete(timer); fail(new MetaError(131000)); }, fault.hangMs);
        this.timers.add(timer);
        return;
      }
      if (req.method === 'POST' && endpoint === 'messages') {
        let payload: Record<string, unknown>;
        try {
          payload = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new MetaError(100, 'Request body is not valid JSON');
        }
        const result = await this.receiveSend(parts[1], payload, arrived);
        if (fault?.delayMs) {
          const timer = setTimeout(() => { this.timers.delete(timer); send(200, result); }, fault.delayMs);
          this.timers.add(timer);
          return;
        }
        return send(200, result);
      }
      if (req.method === 'POST' && endpoint === 'media') {
        if (raw.length === 0) throw new MetaError(131008, 'file is required');
        if (raw.length > 101 * 1024 * 1024) throw new MetaError(131009, 'file too large');
        return send(200, { id: String(BigInt(`0x${randomBytes(6).toString('hex')}`) + 1_000_000_000_000_000n) });
      }
      if (req.method === 'GET' && endpoint === 'message_templates') return send(200, this.templatesPage(parts[1], url));
      return send(404, { error: { message: `Unsupported request - method type: ${req.method?.toLowerCase()}`, type: 'GraphMethodException', code: 100 } });
    } catch (err) {
      if (err instanceof MetaError) return fail(err);
      this.options.logger.warn({ err: (err as Error).message }, 'simulator request failed');
      return fail(new MetaError(131000));
    }
  }

  private templatesPage(wabaId: string, url: URL) {
    const limit = Math.max(1, Math.min(Number(url.searchParams.get('limit')) || 25, 100));
    const after = url.searchParams.get('after');
    const start = after ? Number(Buffer.from(after, 'base64url').toString()) || 0 : 0;
    const data = SAMPLE_TEMPLATES.slice(start, start + limit);
    const next = start + limit < SAMPLE_TEMPLATES.length ? Buffer.from(String(start + limit)).toString('base64url') : undefined;
    const paging: Record<string, unknown> = { cursors: { before: Buffer.from(String(start)).toString('base64url'), after: next ?? Buffer.from(String(SAMPLE_TEMPLATES.length)).toString('base64url') } };
    if (next) paging.next = `${this.url}${url.pathname}?limit=${limit}&after=${next}`;
    void wabaId;
    return { data, paging };
  }

  private async receiveSend(phoneNumberId: string, payload: Record<string, unknown>, arrived: number) {
    if (payload.messaging_product !== 'whatsapp') throw new MetaError(100, 'The parameter messaging_product is required.');
    if (payload.status === 'read') {
      if (typeof payload.message_id !== 'string' || !payload.message_id.startsWith('wamid.')) throw new MetaError(100, 'Invalid message_id');
      return { success: true };
    }
    this.onSend?.(arrived, payload);
    const to = typeof payload.to === 'string' ? payload.to.replace(/^\+/, '') : '';
    const type = typeof payload.type === 'string' ? payload.type : 'text';
    try {
      if (!/^\d{7,15}$/.test(to)) throw new MetaError(131009, `to: ${JSON.stringify(payload.to ?? null)} is not a valid WhatsApp phone number`);
      if (!TYPES.has(type)) throw new MetaError(131009, `type ${type} is not supported`);
      const content = payload[type];
      if (content === undefined || content === null || typeof content !== 'object') throw new MetaError(131008, `${type} object is required`);
      validateContent(type, content as Record<string, unknown>);
    } catch (err) {
      if (err instanceof MetaError) await this.record(phoneNumberId, to || null, null, type, payload, 'rejected', err.code);
      throw err;
    }
    const wamid = newWamid(to);
    await this.record(phoneNumberId, to, wamid, type, payload, 'accepted', null);
    let failure: number | undefined;
    if (to.startsWith('1555999')) failure = 131026;
    else if (type !== 'template' && !(await this.windowOpen(phoneNumberId, to))) failure = 131047;
    this.scheduleStatuses(phoneNumberId, to, wamid, type, payload.biz_opaque_callback_data, failure);
    const message: Record<string, string> = { id: wamid };
    if (type === 'template') message.message_status = 'accepted';
    return { messaging_product: 'whatsapp', contacts: [{ input: String(payload.to), wa_id: to }], messages: [message] };
  }

  private async windowOpen(phoneNumberId: string, waId: string): Promise<boolean> {
    const { rowCount } = await this.options.controlDb.query(
      `SELECT 1 FROM sandbox_inbound WHERE phone_number_id = $1 AND wa_id = $2 AND last_inbound_at > now() - interval '24 hours'`, [phoneNumberId, waId],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Records a request in `sandbox_outbox` before it is answered. Concurrent requests share one
   * INSERT (group commit): while one is in flight, the next ones queue and go in the following one.
   */
  private record(phoneNumberId: string, to: string | null, wamid: string | null, type: string, payload: unknown, outcome: string, errorCode: number | null): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingRecords.push({ values: [phoneNumberId, to, wamid, type, JSON.stringify(payload), outcome, errorCode], resolve, reject });
      if (!this.flushing) void this.flushRecords();
    });
  }

  private async flushRecords(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pendingRecords.length > 0) {
        const batch = this.pendingRecords.splice(0, 500);
        const column = (i: number) => batch.map((r) => r.values[i]);
        try {
          await this.options.controlDb.query(
            `INSERT INTO sandbox_outbox (phone_number_id, to_number, wa_message_id, type, payload, outcome, error_code)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::int[])`,
            [column(0), column(1), column(2), column(3), column(4), column(5), column(6)],
          );
          for (const r of batch) r.resolve();
        } catch (err) {
          for (const r of batch) r.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private scheduleStatuses(phoneNumberId: string, to: string, wamid: string, type: string, callbackData: unknown, failure?: number): void {
    if (!this.options.statusWebhooks) return;
    const [sentMs, deliveredMs, readMs] = this.options.statusDelaysMs;
    const base = { id: wamid, recipient_id: to, ...(typeof callbackData === 'string' ? { biz_opaque_callback_data: callbackData } : {}) };
    const pricing = { billable: true, pricing_model: 'PMP', type: type === 'template' ? 'regular' : 'free_customer_service', category: type === 'template' ? 'utility' : 'service' };
    const steps: Array<[number, Record<string, unknown>]> = [];
    if (failure === undefined && Math.random() < this.options.failureRate) failure = 131026;
    if (failure !== undefined) {
      const text = ERROR_TEXT[failure];
      steps.push([sentMs, { ...base, status: 'failed', errors: [{ code: failure, title: text.title, message: text.title, error_data: { details: text.details }, href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/' }] }]);
    } else {
      steps.push([sentMs, { ...base, status: 'sent', pricing }]);
      if (type !== 'reaction') {
        steps.push([sentMs + deliveredMs, { ...base, status: 'delivered', pricing }]);
        steps.push([sentMs + deliveredMs + readMs, { ...base, status: 'read' }]);
      }
    }
    for (const [delay, status] of steps) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.deliver(phoneNumberId, { statuses: [{ ...status, timestamp: String(Math.floor(Date.now() / 1000)) }] });
      }, delay);
      this.timers.add(timer);
    }
  }

  /** Builds the webhook envelope for a `messages` change on this number. */
  envelope(phoneNumberId: string, value: Record<string, unknown>) {
    return {
      object: 'whatsapp_business_account',
      entry: [{
        id: this.wabas.get(phoneNumberId) ?? sandboxWabaFor(phoneNumberId),
        changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: displayNumber(phoneNumberId), phone_number_id: phoneNumberId }, ...value } }],
      }],
    };
  }

  /** POSTs a signed webhook to the server (a few tries). @returns the HTTP status, or 0 when it could not be delivered */
  async deliver(phoneNumberId: string, value: Record<string, unknown>): Promise<number> {
    const url = this.options.webhookUrl();
    if (!url || this.closed) return 0;
    const raw = JSON.stringify(this.envelope(phoneNumberId, value));
    return postSignedWebhook(url, raw, this.options.appSecret, this.options.logger);
  }
}

/** POSTs `raw` signed like Meta (X-Hub-Signature-256), retrying a few times on failure. */
export async function postSignedWebhook(url: string, raw: string, appSecret: string, logger: Pick<Logger, 'warn'>): Promise<number> {
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, appSecret) }, body: raw, signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      if (response.ok) return response.status;
      if (response.status < 500 && response.status !== 429) {
        logger.warn({ status: response.status }, 'simulator webhook refused by the server');
        return response.status;
      }
    } catch {
      // server not up yet or busy: retry
    }
    await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
  }
  logger.warn({ url }, 'simulator could not deliver a webhook');
  return 0;
}

export async function listOutbox(db: pg.Pool, phoneNumberId: string, limit: number): Promise<OutboxEntry[]> {
  const { rows } = await db.query<{ id: string; phone_number_id: string; to_number: string | null; wa_message_id: string | null; type: string | null; payload: unknown; outcome: string; error_code: number | null; created_at: Date }>(
    'SELECT * FROM sandbox_outbox WHERE phone_number_id = $1 ORDER BY id DESC LIMIT $2', [phoneNumberId, limit],
  );
  return rows.map((r) => ({ id: r.id, phoneNumberId: r.phone_number_id, to: r.to_number, waMessageId: r.wa_message_id, type: r.type, payload: r.payload, outcome: r.outcome, errorCode: r.error_code, createdAt: r.created_at.toISOString() }));
}

function validateContent(type: string, c: Record<string, unknown>): void {
  const str = (v: unknown, max: number, what: string, required = true) => {
    if (v === undefined && !required) return;
    if (typeof v !== 'string' || v.length === 0) throw new MetaError(131008, `${what} is required`);
    if (v.length > max) throw new MetaError(131009, `${what} must be at most ${max} characters`);
  };
  switch (type) {
    case 'text': return str(c.body, 4096, 'text.body');
    case 'image': case 'video': case 'audio': case 'document': case 'sticker':
      if (typeof c.id !== 'string' && typeof c.link !== 'string') throw new MetaError(131008, `${type}.id or ${type}.link is required`);
      if (c.caption !== undefined && (type === 'audio' || type === 'sticker')) throw new MetaError(131009, `${type} does not take a caption`);
      return str(c.caption, 1024, `${type}.caption`, false);
    case 'reaction':
      if (typeof c.message_id !== 'string') throw new MetaError(131008, 'reaction.message_id is required');
      return;
    case 'location':
      if (typeof c.latitude !== 'number' || typeof c.longitude !== 'number') throw new MetaError(131008, 'location.latitude and longitude are required');
      return;
    case 'contacts': return;
    case 'interactive': return validateInteractive(c);
    case 'template': return validateTemplate(c);
  }
}

function validateInteractive(c: Record<string, unknown>): void {
  const action = c.action as Record<string, unknown> | undefined;
  const body = c.body as { text?: unknown } | undefined;
  if (!action) throw new MetaError(131008, 'interactive.action is required');
  if (c.type === 'button') {
    const buttons = action.buttons as unknown[] | undefined;
    if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3) throw new MetaError(131009, 'interactive buttons: 1 to 3 buttons');
    if (typeof body?.text !== 'string') throw new MetaError(131008, 'interactive.body.text is required');
  } else if (c.type === 'list') {
    const sections = action.sections as Array<{ rows?: unknown[] }> | undefined;
    if (!Array.isArray(sections) || sections.length === 0 || sections.length > 10) throw new MetaError(131009, 'interactive list: 1 to 10 sections');
    const rows = sections.reduce((n, s) => n + (s.rows?.length ?? 0), 0);
    if (rows === 0 || rows > 10) throw new MetaError(131009, 'interactive list: 1 to 10 rows in all');
  } else if (c.type === 'cta_url') {
    const parameters = action.parameters as { url?: unknown } | undefined;
    if (typeof parameters?.url !== 'string') throw new MetaError(131008, 'cta_url url is required');
  } else {
    throw new MetaError(131009, `interactive type ${String(c.type)} is not supported by the simulator`);
  }
}

function validateTemplate(c: Record<string, unknown>): void {
  const name = c.name;
  const language = (c.language as { code?: unknown } | undefined)?.code;
  const template = SAMPLE_TEMPLATES.find((t) => t.name === name && t.language === language);
  if (!template || template.status !== 'APPROVED') throw new MetaError(132001, `template name (${String(name)}) does not exist in ${String(language)}`);
  const counts = parameterCounts(template.components ?? []);
  const components = (Array.isArray(c.components) ? c.components : []) as SendComponent[];
  const body = components.filter((x) => x.type === 'body').flatMap((x) => x.parameters ?? []).length;
  if (body !== counts.body) throw new MetaError(132000, `body: number of localizable_params (${body}) does not match the expected number of params (${counts.body})`);
}
