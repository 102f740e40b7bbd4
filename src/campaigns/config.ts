/** Email settings (SMTP policy, sending pace, tracking); integration-only variables live here. */
import net from 'node:net';
import type { EnvReader } from '../platform/env-reader.ts';

export function readMailConfig(env: EnvReader) {
  const allowHosts = env.list('SMTP_ALLOW_HOSTS', {
    doc: 'Exact IPs or CIDRs (comma-separated) a client SMTP host may resolve to although they are loopback/private, on any port (local relays, tests). Empty: only public unicast addresses on ports 25/465/587/2525.',
  });
  for (const entry of allowHosts) {
    const [ip, bits] = entry.split('/');
    if (!net.isIP(ip) || (bits !== undefined && !/^\d{1,3}$/.test(bits))) env.fail(`SMTP_ALLOW_HOSTS: ${JSON.stringify(entry)} is not an IP address or CIDR`);
  }
  return {
    allowHosts,
    tlsVerify: env.bool('SMTP_TLS_VERIFY', {
      default: true,
      doc: 'Verify SMTP server certificates (465 implicit TLS, STARTTLS elsewhere). false only for test servers with self-signed certificates (never in production).',
    }),
    connectTimeoutMs: env.int('SMTP_CONNECT_TIMEOUT_MS', { default: 10_000, min: 100, max: 120_000, doc: 'TCP/TLS connect and greeting timeout for client SMTP servers.' }),
    socketTimeoutMs: env.int('SMTP_SOCKET_TIMEOUT_MS', { default: 60_000, min: 100, max: 600_000, doc: 'Inactivity timeout on an open SMTP connection; bounds how long one send may hang.' }),
    poolIdleMs: env.int('SMTP_POOL_IDLE_MS', { default: 300_000, min: 1000, max: 3_600_000, doc: 'A client SMTP pool unused this long is closed.' }),
    concurrency: env.int('EMAIL_CONCURRENCY', { default: 5, min: 1, max: 50, doc: 'Parallel SMTP connections per client (nodemailer maxConnections).' }),
    ratePerSecond: env.int('EMAIL_RATE_PER_SECOND', { default: 10, min: 0, max: 100_000, doc: 'Default per-client sending rate (messages/second, paced evenly; 0 = unthrottled); a campaign may set its own.' }),
    ratePerDay: env.int('EMAIL_RATE_PER_DAY', { default: 2000, min: 0, max: 10_000_000, doc: 'Default per-client daily cap (UTC day; 0 = none), e.g. the provider limit (Google Workspace: 2,000).' }),
    batchSize: env.int('EMAIL_BATCH_SIZE', { default: 100, min: 2, max: 5000, doc: 'Recipients a campaign runner keeps claimed (in flight) at once; also the most a crash can leave "unknown".' }),
    retryBaseSeconds: env.int('EMAIL_RETRY_BASE_SECONDS', { default: 300, min: 1, max: 86_400, doc: 'First retry delay of a 4xx/connection failure (× 3 each attempt).' }),
    maxAttempts: env.int('EMAIL_MAX_ATTEMPTS', { default: 5, min: 1, max: 50, doc: 'Attempts per recipient before a transient failure becomes failed.' }),
    sendingLeaseSeconds: env.int('EMAIL_SENDING_LEASE_SECONDS', {
      default: 900, min: 1, max: 86_400,
      doc: 'A recipient still "sending" this long after being claimed belonged to a crashed worker: it is marked unknown (never re-sent blindly). Must exceed connect + socket timeouts.',
    }),
    unsubscribeMailto: env.str('EMAIL_UNSUBSCRIBE_MAILTO', { doc: 'Optional mailbox for mailto: List-Unsubscribe (unsub+<token>@domain is derived from it).' }),
  };
}

export type MailConfig = ReturnType<typeof readMailConfig>;
