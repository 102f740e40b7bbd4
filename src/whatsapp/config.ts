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
  };
}

export type WhatsappConfig = ReturnType<typeof readWhatsappConfig>;
