/** WhatsApp / Meta settings (integration-only variables live with the integration). */
import type { EnvReader } from '../platform/env-reader.ts';

export function readWhatsappConfig(env: EnvReader) {
  return {
    metaAppSecret: env.str('META_APP_SECRET', {
      secret: true,
      doc: 'Meta app secret: X-Hub-Signature-256 of every webhook POST is checked with it (a client may also have its own whatsappAppSecret). Unset: only the sandbox secret and per-client secrets verify.',
    }),
    metaVerifyToken: env.str('META_VERIFY_TOKEN', {
      secret: true,
      doc: 'Global verify token for the webhook handshake (each client may also have its own whatsappWebhookToken).',
    }),
    mode: env.oneOf('WHATSAPP_MODE', ['auto', 'sandbox', 'live'] as const, {
      default: 'auto',
      doc: 'auto: clients without a whatsappToken use the built-in simulator; sandbox: everyone does; live: never (sends without a token fail).',
    }),
    graphBaseUrl: env.url('GRAPH_API_BASE_URL', { default: 'https://graph.facebook.com', doc: 'Graph API base URL (tests point it at a local server).' }),
    graphApiVersion: env.str('GRAPH_API_VERSION', { default: 'v26.0', doc: 'Graph API version used in request paths.' }),
    // Outbound sending (issue 4)
    graphTimeoutMs: env.int('WHATSAPP_GRAPH_TIMEOUT_MS', { default: 15_000, min: 100, doc: 'Timeout of one Graph API request; a send that times out has an unknown outcome and is reconciled, not blindly re-sent.' }),
    graphRetries: env.int('WHATSAPP_GRAPH_RETRIES', { default: 2, min: 0, max: 10, doc: 'In-request retries of retryable Graph errors (130429, 131056, 4, 80007, 131000, 5xx) before the send job itself retries.' }),
    graphRetryBaseMs: env.int('WHATSAPP_GRAPH_RETRY_BASE_MS', { default: 500, min: 1, doc: 'Base backoff of those retries (doubled each time, with full jitter).' }),
    numberRatePerSecond: env.int('WHATSAPP_NUMBER_RATE_PER_SECOND', { default: 80, min: 1, doc: 'Token bucket per sending number (messages/s; Meta default 80, up to 1000 for upgraded numbers), shared by every instance through the control database.' }),
    pairBurst: env.int('WHATSAPP_PAIR_BURST', { default: 10, min: 1, doc: 'Messages to one recipient that may go out back to back before pacing starts (pair rate limit).' }),
    pairIntervalMs: env.int('WHATSAPP_PAIR_INTERVAL_MS', { default: 6000, min: 0, doc: 'Pacing per (sending number, recipient) once the burst is used: one message per interval (Meta: about 1 per 6 s).' }),
    sendBatchSize: env.int('WHATSAPP_SEND_BATCH', { default: 64, min: 1, max: 1000, doc: 'Send jobs one worker loop fetches, paces, claims and stores in one go (one statement each per batch).' }),
    sendLoops: env.int('WHATSAPP_SEND_LOOPS', { default: 4, min: 1, max: 64, doc: 'Send worker loops per process (each works one batch at a time).' }),
    reconcileDelayMs: env.int('WHATSAPP_RECONCILE_DELAY_MS', { default: 60_000, min: 0, doc: 'After a send timed out (outcome unknown): how long to wait for a status webhook carrying our message id before sending again.' }),
    sandboxStatusDelaysMs: env.str('SANDBOX_STATUS_DELAYS_MS', { default: '20,40,80', doc: 'Simulator: delays (ms) of the sent, delivered and read status webhooks after a send.' }),
    sandboxFailureRate: env.str('SANDBOX_FAILURE_RATE', { default: '0', doc: 'Simulator: fraction (0..1) of sends that end with a failed 131026 status instead of delivered.' }),
    sandboxStatusWebhooks: env.bool('SANDBOX_STATUS_WEBHOOKS', { default: true, doc: 'Simulator: deliver status webhooks (turn off for send benchmarks).' }),
    inboxConsumerLoops: env.int('WHATSAPP_INBOX_LOOPS', { default: 4, min: 1, max: 64, doc: 'Inbox consumer loops per worker process (each claims rows with SKIP LOCKED).' }),
    inboxBatchSize: env.int('WHATSAPP_INBOX_BATCH', { default: 64, min: 1, max: 500, doc: 'Inbox rows one consumer loop claims at once; each client\'s share is applied in one transaction of a few statements.' }),
    inboxMaxAttempts: env.int('WHATSAPP_INBOX_MAX_ATTEMPTS', { default: 8, min: 1, max: 100, doc: 'Attempts before a failing webhook delivery is dead-lettered (then: ecodrix webhooks replay).' }),
    inboxRetryBaseMs: env.int('WHATSAPP_INBOX_RETRY_BASE_MS', { default: 2000, min: 1, max: 3_600_000, doc: 'First retry delay of a failing webhook delivery; doubles per attempt (with jitter, capped at 10 min).' }),
    inboxLeaseSeconds: env.int('WHATSAPP_INBOX_LEASE_SECONDS', { default: 15, min: 3, max: 3600, doc: 'Lease of a claimed inbox row, renewed every third of it while it is worked on: rows of a killed or disconnected consumer are retried after at most this long.' }),
    inboxPollMs: env.int('WHATSAPP_INBOX_POLL_MS', { default: 1000, min: 10, max: 60_000, doc: 'Inbox polling fallback when no NOTIFY arrives.' }),
    inboxRetentionDays: env.int('WHATSAPP_INBOX_RETENTION_DAYS', { default: 7, min: 1, max: 3650, doc: 'Days applied webhook deliveries stay in the inbox (dead and unroutable ones: 4× as long).' }),
    sandboxWebhookUrl: env.url('SANDBOX_WEBHOOK_URL', { doc: 'Simulator: where its webhooks go when this process does not serve HTTP (default: this server, http://127.0.0.1:PORT/api/saas/whatsapp/webhook).' }),
  };
}

export type WhatsappConfig = ReturnType<typeof readWhatsappConfig>;
