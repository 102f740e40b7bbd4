/**
 * The only code that talks to Meta's Graph API for sends, media uploads,
 * mark-as-read and template lists. Base URL and version come from config; a
 * client without a WhatsApp token (or every client with WHATSAPP_MODE=sandbox)
 * talks to the built-in simulator instead. Graph errors become `GraphError`
 * (branch on `code`, never on text); only retryable ones are retried, with
 * exponential backoff and full jitter. Error 190 marks the client as needing a
 * new token and pauses its sends until its secrets are updated.
 */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { findClientById, readSecrets, setWhatsappStatus } from '../tenants/index.ts';
import { ensureSandboxIdentity, simulatorFor, usesSandbox } from '../sandbox/index.ts';
import { SECRETS_CHANGED_CHANNEL } from './client-routing.ts';
import { controlListener } from './control-listener.ts';
import { SendThrottle } from './throttle.ts';

export interface GraphTarget {
  clientId: string;
  /** `https://graph.facebook.com` or the simulator's loopback URL. */
  baseUrl: string;
  version: string;
  token: string;
  phoneNumberId: string;
  wabaId?: string;
  sandbox: boolean;
}

/** Codes that are transient per the Cloud API reference (§13). */
const RETRYABLE_CODES = new Set([130429, 131056, 4, 80007, 131000, 1, 2, 131016, 131057]);

export class GraphError extends Error {
  /** Meta's error code (null for timeouts and network errors). */
  readonly code: number | null;
  readonly subcode: number | null;
  readonly httpStatus: number | null;
  readonly fbtraceId: string | null;
  readonly details: string | null;
  /** graph: Meta answered with an error; timeout: no answer in time (outcome unknown); network: never reached Meta. */
  readonly kind: 'graph' | 'timeout' | 'network';

  constructor(kind: GraphError['kind'], message: string, fields: { code?: number | null; subcode?: number | null; httpStatus?: number | null; fbtraceId?: string | null; details?: string | null } = {}) {
    super(message);
    this.name = 'GraphError';
    this.kind = kind;
    this.code = fields.code ?? null;
    this.subcode = fields.subcode ?? null;
    this.httpStatus = fields.httpStatus ?? null;
    this.fbtraceId = fields.fbtraceId ?? null;
    this.details = fields.details ?? null;
  }

  /** Transient: worth retrying the same request later. */
  get retryable(): boolean {
    if (this.kind !== 'graph') return true;
    if (this.code !== null && RETRYABLE_CODES.has(this.code)) return true;
    return this.code === null && (this.httpStatus ?? 0) >= 500;
  }

  /** A JSON-safe summary stored on the message (never the token). */
  toJSON() {
    return { kind: this.kind, code: this.code, subcode: this.subcode, message: this.message, details: this.details, fbtraceId: this.fbtraceId, ourCode: graphErrorCode(this) };
  }
}

/** Our error code for a Graph error. */
export function graphErrorCode(err: GraphError): AppError['code'] {
  if (err.kind !== 'graph') return 'UPSTREAM_UNAVAILABLE';
  switch (err.code) {
    case 190: return 'WHATSAPP_REAUTH_REQUIRED';
    case 132001: return 'TEMPLATE_NOT_FOUND';
    case 132015: case 132016: return 'TEMPLATE_NOT_APPROVED';
    case 132000: case 132012: case 132018: return 'TEMPLATE_PARAMETER_MISMATCH';
    case 131047: return 'OUTSIDE_24H_WINDOW';
    case 130429: case 131056: case 4: case 80007: return 'RATE_LIMITED';
    default: return err.retryable ? 'UPSTREAM_UNAVAILABLE' : 'WHATSAPP_REQUEST_REJECTED';
  }
}

/** The AppError a route should answer with for a Graph error. */
export function toAppError(err: GraphError): AppError {
  const code = graphErrorCode(err);
  const message = code === 'TEMPLATE_NOT_FOUND' ? 'Template not found'
    : code === 'WHATSAPP_REAUTH_REQUIRED' ? 'The WhatsApp access token is expired or invalid; update the client\'s whatsappToken'
    : `WhatsApp refused the request${err.code !== null ? ` (#${err.code})` : ''}: ${err.details ?? err.message}`;
  return new AppError(code, { message, details: { metaCode: err.code, fbtraceId: err.fbtraceId }, retryAfterSeconds: code === 'RATE_LIMITED' ? 5 : undefined });
}

interface Cached { target: Promise<GraphTarget>; at: number }
const targetCache = new WeakMap<AppContext, Map<string, Cached>>();
const throttles = new WeakMap<AppContext, SendThrottle>();
const TARGET_TTL_MS = 5000;

/** The process's send throttle for this context. */
export function sendThrottle(ctx: AppContext): SendThrottle {
  let throttle = throttles.get(ctx);
  if (!throttle) {
    const w = ctx.config.whatsapp;
    throttle = new SendThrottle({ ratePerSecond: w.numberRatePerSecond, pairBurst: w.pairBurst, pairIntervalMs: w.pairIntervalMs });
    throttles.set(ctx, throttle);
  }
  return throttle;
}

/**
 * Forgets cached credentials (after a 190). Secret changes in any process clear the cache through
 * the control database's NOTIFY (while this process listens; otherwise within TARGET_TTL_MS).
 */
export function forgetGraphTarget(ctx: AppContext, clientId: string): void {
  targetCache.get(ctx)?.delete(clientId);
}

/**
 * Where and as whom to call Graph for this client. Throws WHATSAPP_REAUTH_REQUIRED
 * while the client's token is known to be bad (sends are paused) or missing in live mode.
 */
export async function resolveGraphTarget(ctx: AppContext, clientId: string): Promise<GraphTarget> {
  let cache = targetCache.get(ctx);
  if (!cache) {
    const created = new Map<string, Cached>();
    // Secrets changed in any process (new token after a 190, another number): forget at once.
    controlListener(ctx).on(SECRETS_CHANGED_CHANNEL, () => created.clear());
    targetCache.set(ctx, created);
    cache = created;
  }
  const hit = cache.get(clientId);
  if (hit && Date.now() - hit.at < TARGET_TTL_MS) return hit.target;
  // Concurrent sends of one client share one read (no stampede when the entry expires).
  const entry: Cached = { target: loadGraphTarget(ctx, clientId), at: Date.now() };
  cache.set(clientId, entry);
  entry.target.catch(() => {
    if (cache.get(clientId) === entry) cache.delete(clientId);
  });
  return entry.target;
}

async function loadGraphTarget(ctx: AppContext, clientId: string): Promise<GraphTarget> {
  const [client, secrets] = await Promise.all([
    findClientById(ctx.controlDb, clientId),
    readSecrets(ctx, clientId, ['whatsappToken', 'whatsappPhoneNumberId', 'whatsappBusinessId']),
  ]);
  if (!client) throw new AppError('CLIENT_NOT_FOUND', { message: 'ClientCode not found' });
  const { graphBaseUrl, graphApiVersion } = ctx.config.whatsapp;
  let target: GraphTarget;
  if (usesSandbox(ctx, Boolean(secrets.whatsappToken))) {
    const identity = await ensureSandboxIdentity(ctx, client);
    const simulator = await simulatorFor(ctx);
    simulator.rememberWaba(identity.phoneNumberId, identity.wabaId);
    target = { clientId, baseUrl: simulator.url, version: graphApiVersion, token: 'sandbox-token', phoneNumberId: identity.phoneNumberId, wabaId: identity.wabaId, sandbox: true };
  } else {
    if (client.whatsapp_status === 'needs_token') {
      throw new AppError('WHATSAPP_REAUTH_REQUIRED', { message: 'WhatsApp sending is paused for this client: its access token was rejected by Meta (190). Update whatsappToken to resume.' });
    }
    if (!secrets.whatsappToken) throw new AppError('WHATSAPP_REAUTH_REQUIRED', { message: 'This client has no whatsappToken (WHATSAPP_MODE=live)' });
    if (!secrets.whatsappPhoneNumberId) throw new AppError('UNPROCESSABLE', { message: 'This client has no whatsappPhoneNumberId' });
    target = { clientId, baseUrl: graphBaseUrl.replace(/\/+$/, ''), version: graphApiVersion, token: secrets.whatsappToken, phoneNumberId: secrets.whatsappPhoneNumberId, wabaId: secrets.whatsappBusinessId, sandbox: false };
  }
  return target;
}

interface RequestOptions {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path after the version (`/123/messages`) or an absolute URL on the same origin. */
  path: string;
  json?: unknown;
  form?: FormData;
  /**
   * Whether a timeout may be retried: true for reads and idempotent calls; false for
   * message sends (Meta has no idempotency key, so a timed-out send may have gone out).
   */
  retryTimeouts: boolean;
}

/** One Graph call with retries of transient errors; a 190 pauses the client. */
export async function graphRequest<T>(ctx: AppContext, target: GraphTarget, options: RequestOptions): Promise<T> {
  const { graphRetries, graphRetryBaseMs } = ctx.config.whatsapp;
  for (let attempt = 0; ; attempt++) {
    try {
      return await graphOnce<T>(ctx, target, options);
    } catch (err) {
      if (!(err instanceof GraphError)) throw err;
      if (err.kind === 'graph' && err.code === 190) await pauseClient(ctx, target, err);
      const retry = err.retryable && (err.kind !== 'timeout' || options.retryTimeouts) && attempt < graphRetries;
      if (!retry) throw err;
      // 131056 (pair rate limit) wants ≥ 6 s for that recipient: leave it to the job's own retry.
      if (err.code === 131056) throw err;
      const delay = Math.random() * graphRetryBaseMs * 2 ** attempt;
      ctx.logger.info({ client: target.clientId, metaCode: err.code, kind: err.kind, attempt: attempt + 1, delayMs: Math.round(delay) }, 'retrying Graph request');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function pauseClient(ctx: AppContext, target: GraphTarget, err: GraphError): Promise<void> {
  forgetGraphTarget(ctx, target.clientId);
  if (target.sandbox) return;
  const reason = `Meta rejected the access token (190${err.subcode ? `/${err.subcode}` : ''}) at ${new Date().toISOString()}; update whatsappToken to resume sending`;
  await setWhatsappStatus(ctx.controlDb, target.clientId, 'needs_token', reason);
  ctx.logger.warn({ client: target.clientId, metaCode: 190, subcode: err.subcode, fbtraceId: err.fbtraceId }, 'WhatsApp token rejected; client sends paused');
}

async function graphOnce<T>(ctx: AppContext, target: GraphTarget, options: RequestOptions): Promise<T> {
  const url = options.path.startsWith('http') ? options.path : `${target.baseUrl}/${target.version}${options.path}`;
  const headers: Record<string, string> = { authorization: `Bearer ${target.token}` };
  let body: string | FormData | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  }
  let response: Response;
  try {
    response = await fetch(url, { method: options.method, headers, body, signal: AbortSignal.timeout(ctx.config.whatsapp.graphTimeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new GraphError('timeout', `Graph API did not answer within ${ctx.config.whatsapp.graphTimeoutMs} ms`);
    const code = e.cause?.code ?? '';
    // Refused / unresolvable: the request never reached Meta. Anything else (reset mid-request) is unknown.
    if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET_BEFORE/.test(code)) throw new GraphError('network', `Graph API unreachable (${code})`);
    throw new GraphError('timeout', `Graph API connection failed mid-request (${code || e.message}); outcome unknown`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    throw new GraphError('timeout', 'Graph API response was cut off; outcome unknown');
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = undefined;
  }
  if (response.ok && parsed !== undefined) return parsed as T;
  const error = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
  if (error && typeof error === 'object') {
    const errorData = error.error_data as { details?: string } | undefined;
    throw new GraphError('graph', String(error.message ?? `Graph error ${response.status}`), {
      code: typeof error.code === 'number' ? error.code : Number(error.code) || null,
      subcode: typeof error.error_subcode === 'number' ? error.error_subcode : null,
      httpStatus: response.status,
      fbtraceId: typeof error.fbtrace_id === 'string' ? error.fbtrace_id : null,
      details: errorData?.details ?? null,
    });
  }
  throw new GraphError('graph', `Graph API answered HTTP ${response.status} without an error body`, { httpStatus: response.status });
}

export interface SendResult { waMessageId: string; waId: string | null; messageStatus: string | null }

/** POST /{phone-number-id}/messages. Timeouts are NOT retried here (see send-message.job.ts). */
export async function sendGraphMessage(ctx: AppContext, target: GraphTarget, payload: Record<string, unknown>): Promise<SendResult> {
  const body = await graphRequest<{ contacts?: Array<{ wa_id?: string }>; messages?: Array<{ id?: string; message_status?: string }> }>(ctx, target, {
    method: 'POST', path: `/${target.phoneNumberId}/messages`, json: payload, retryTimeouts: false,
  });
  const id = body.messages?.[0]?.id;
  if (!id) throw new GraphError('graph', 'Graph API accepted the message without returning its id', { httpStatus: 200 });
  return { waMessageId: id, waId: body.contacts?.[0]?.wa_id ?? null, messageStatus: body.messages?.[0]?.message_status ?? null };
}

/** POST /{phone-number-id}/media (multipart) → media id. An upload is safe to retry. */
export async function uploadGraphMedia(ctx: AppContext, target: GraphTarget, file: { data: Buffer; mimeType: string; filename?: string | null }): Promise<string> {
  const form = new FormData();
  form.set('messaging_product', 'whatsapp');
  form.set('type', file.mimeType);
  form.set('file', new Blob([new Uint8Array(file.data)], { type: file.mimeType }), file.filename ?? 'upload');
  const body = await graphRequest<{ id?: string }>(ctx, target, { method: 'POST', path: `/${target.phoneNumberId}/media`, form, retryTimeouts: true });
  if (!body.id) throw new GraphError('graph', 'Graph API media upload returned no id', { httpStatus: 200 });
  return body.id;
}

/** Marks an inbound message (and the ones before it) as read. Idempotent. */
export async function markGraphRead(ctx: AppContext, target: GraphTarget, waMessageId: string): Promise<void> {
  await graphRequest(ctx, target, { method: 'POST', path: `/${target.phoneNumberId}/messages`, json: { messaging_product: 'whatsapp', status: 'read', message_id: waMessageId }, retryTimeouts: true });
}

export interface GraphTemplate {
  id?: string;
  name: string;
  language: string;
  status: string;
  category?: string;
  parameter_format?: string;
  components?: Array<Record<string, unknown>>;
  rejected_reason?: string;
}

/** One page of `/{waba-id}/message_templates`. */
export async function listGraphTemplates(ctx: AppContext, target: GraphTarget, after?: string): Promise<{ data: GraphTemplate[]; after?: string; hasNext: boolean }> {
  if (!target.wabaId) throw new AppError('UNPROCESSABLE', { message: 'This client has no whatsappBusinessId (WABA id); set it to sync templates' });
  const query = new URLSearchParams({ limit: '100', fields: 'id,name,language,status,category,parameter_format,components,rejected_reason' });
  if (after) query.set('after', after);
  const body = await graphRequest<{ data?: GraphTemplate[]; paging?: { cursors?: { after?: string }; next?: string } }>(ctx, target, {
    method: 'GET', path: `/${target.wabaId}/message_templates?${query}`, retryTimeouts: true,
  });
  // Follow the `after` cursor against our own base URL rather than the absolute `next` URL (it names Meta's host).
  return { data: body.data ?? [], after: body.paging?.cursors?.after, hasNext: Boolean(body.paging?.next) };
}
