import type { NodeEnv } from '../config.ts';
import type { EnvReader } from '../env-reader.ts';
import { parseAllowHosts, type OutboundPolicy } from './safe-fetch.ts';

/**
 * Outbound HTTP policy for tenant-supplied URLs (callbacks, webhooks): production accepts
 * only https on port 443 (security.md §3); SSRF_ALLOW_HOSTS names the only exceptions.
 */
export function readOutboundConfig(env: EnvReader, nodeEnv: NodeEnv): Required<OutboundPolicy> & { allowHosts: string[] } {
  const raw = env.str('SSRF_ALLOW_HOSTS', {
    default: '',
    doc: 'Comma-separated exact host names or IP addresses that outbound requests to tenant URLs (callbacks, webhook actions) may reach even though they are internal (loopback, private), and, in production, over http or another port than 443. Empty by default; only for tests and local receivers. Logged at startup.',
  });
  return { allowHosts: parseAllowHosts(raw), httpsOnly: nodeEnv === 'production' };
}
