import type { Keyring } from '../platform/crypto/keyring.ts';

/**
 * The app secret the built-in WhatsApp simulator signs its webhooks with, and
 * the webhook route accepts in addition to META_APP_SECRET. Derived from the
 * server's blind-index key, so it is stable across restarts and never stored.
 */
export function sandboxAppSecret(keyring: Keyring): string {
  return keyring.blindIndex('whatsapp.sandbox-app-secret', 'v1');
}
