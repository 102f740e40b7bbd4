import type { EnvReader } from '../env-reader.ts';
import { parseAllowHosts } from './safe-fetch.ts';

/** Outbound HTTP policy for tenant-supplied URLs (callbacks, webhooks, media). */
export function readOutboundConfig(env: EnvReader) {
  const raw = env.str('SSRF_ALLOW_HOSTS', {
    default: '',
    doc: 'Comma-separated exact host names or IP addresses that outbound requests to tenant URLs may reach even though they are internal (loopback, private). Empty by default; only for tests and local receivers. Logged at startup.',
  });
  return { allowHosts: parseAllowHosts(raw) };
}
