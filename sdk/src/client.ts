/**
 * A small typed client for the tenant API. Every method maps to one route in
 * ECODrIx's `/openapi.json` (checked by sdk/src/client.test.ts).
 */

export type TriggerEvent =
  | 'appointment_confirmed' | 'appointment_reminder' | 'appointment_cancelled' | 'appointment_rescheduled'
  | 'product_purchased' | 'service_enrolled' | 'lead_captured';

/** Body of `POST /api/saas/workflows/trigger` (the original contract). */
export interface TriggerRequest {
  trigger: TriggerEvent;
  /** E.164 without '+', digits only. */
  phone: string;
  /** WhatsApp template variables, in order. */
  variables: string[];
  conversationId?: string;
  /** ISO 8601 reference time for delayed runs. */
  baseTime?: string;
  /** Minutes relative to baseTime (negative = before). */
  delayMinutes?: number;
  callbackUrl?: string;
  callbackMetadata?: { moduleId?: string; moduleType?: string; reminderKey?: string; [key: string]: unknown };
  idempotencyKey?: string;
}

export interface TriggerResponse {
  jobs: Array<{ id: string; workflow: string; runAt: string; status: string }>;
  message?: string;
}

export interface EcodrixClientOptions {
  /** e.g. https://api.ecodrix.com */
  baseUrl: string;
  apiKey: string;
  clientCode: string;
  /** Custom fetch (tests, proxies). */
  fetch?: typeof fetch;
  /** Request timeout in ms (default 15000). */
  timeoutMs?: number;
}

export class EcodrixApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId?: string;
  constructor(status: number, code: string, message: string, requestId?: string) {
    super(message);
    this.name = 'EcodrixApiError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

/** The routes this SDK calls (method, path template) — kept in step with /openapi.json by a test. */
export const SDK_ROUTES = {
  trigger: ['POST', '/api/saas/workflows/trigger'],
  getJob: ['GET', '/api/saas/workflows/jobs/{id}'],
  listJobs: ['GET', '/api/saas/workflows/jobs'],
  realtimeToken: ['POST', '/api/saas/realtime/token'],
  health: ['GET', '/api/saas/health'],
} as const;

export class EcodrixClient {
  private readonly options: EcodrixClientOptions;

  constructor(options: EcodrixClientOptions) {
    this.options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
  }

  /** Fires a workflow trigger; 202 with the scheduled jobs, or 200 with none. */
  triggerWorkflow(body: TriggerRequest): Promise<TriggerResponse> {
    return this.request('POST', SDK_ROUTES.trigger[1], body);
  }

  /** One job of this client: status, attempts, errors, result. */
  getJob(id: string): Promise<Record<string, unknown>> {
    return this.request('GET', SDK_ROUTES.getJob[1].replace('{id}', encodeURIComponent(id)));
  }

  /** This client's jobs, newest first. */
  listJobs(query: { status?: string; trigger?: string; limit?: number; cursor?: string } = {}): Promise<{ items: Array<Record<string, unknown>>; nextCursor: string | null }> {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string]));
    const qs = params.toString();
    return this.request('GET', `${SDK_ROUTES.listJobs[1]}${qs ? `?${qs}` : ''}`);
  }

  /** A short-lived token for a dashboard's Socket.io connection. */
  createRealtimeToken(): Promise<{ token: string; expiresAt: string }> {
    return this.request('POST', SDK_ROUTES.realtimeToken[1], {});
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const doFetch = this.options.fetch ?? fetch;
    const response = await doFetch(`${this.options.baseUrl}${path}`, {
      method,
      headers: {
        'x-api-key': this.options.apiKey,
        'x-client-code': this.options.clientCode,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const error = parsed?.error ?? {};
      throw new EcodrixApiError(response.status, error.code ?? 'HTTP_ERROR', error.message ?? `HTTP ${response.status}`, error.requestId);
    }
    return parsed as T;
  }
}
