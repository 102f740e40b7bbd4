/**
 * SSRF-safe outbound HTTP for tenant-influenced destinations (callback URLs,
 * automation webhooks, media URLs). Rules (see ../shared/reference/security.md §4):
 * - `http:`/`https:` only, no userinfo; with `httpsOnly` (production) only `https:` on port 443,
 *   except for the hosts named in `allowHosts` (explicit test/local configuration);
 * - the host is resolved ONCE, every returned address must be public unicast
 *   (loopback in any spelling, private, link-local, CGNAT, metadata, ULA,
 *   IPv4-mapped/compatible IPv6, NAT64, 6to4, Teredo are refused), and the
 *   connection goes to the checked address through a custom `lookup`, so DNS
 *   rebinding cannot swap it; IP-literal hosts are checked the same way;
 * - redirects are never followed (a 3xx is returned to the caller as is);
 * - 15 s timeout, response body read capped at 64 KB.
 * Blocked destinations all get the same `BlockedDestinationError`.
 * `allowHosts` (from SSRF_ALLOW_HOSTS) names exact hosts (as written in the URL,
 * IP literals normalised by the URL parser) that may resolve to internal addresses;
 * it is the only way to reach loopback (tests).
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export const BLOCKED_DESTINATION_MESSAGE = 'Destination not allowed';
/** The one refusal that says why: the scheme/port rule reveals nothing about the network. */
export const HTTPS_REQUIRED_MESSAGE = 'Destination not allowed: only https URLs on port 443 are accepted in production';

/** One uniform error for every refused destination (so the feature is no port scanner). */
export class BlockedDestinationError extends Error {
  constructor(message: string = BLOCKED_DESTINATION_MESSAGE) {
    super(message);
    this.name = 'BlockedDestinationError';
  }
}

/** Where tenant-supplied URLs may go (`ctx.config.outbound`). */
export interface OutboundPolicy {
  /** Exact host names or addresses allowed to be internal, and (with httpsOnly) to use http or another port (SSRF_ALLOW_HOSTS). */
  allowHosts?: readonly string[];
  /** Production: `https:` on the default port only (security.md §3, §4). */
  httpsOnly?: boolean;
}

export interface ResolvedAddress { address: string; family: number }
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafeFetchOptions extends OutboundPolicy {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole-request deadline (default 15 s). */
  timeoutMs?: number;
  /** Most response bytes read (default 64 KB); the rest is discarded. */
  maxResponseBytes?: number;
  /** DNS resolver (default: the system resolver, all addresses). Tests inject rebinding answers. */
  resolve?: Resolver;
}

export interface SafeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** True when the body was longer than the cap. */
  truncated: boolean;
}

const systemResolver: Resolver = async (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** True when `ip` is a public unicast address (anything else is refused). */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) {
      addr = v6.toIPv4Address();
    } else {
      // IPv4-compatible ::/96 (deprecated) embeds an IPv4 address; some versions report it as unicast.
      if (v6.parts.slice(0, 6).every((p) => p === 0)) return false;
      // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48), 6to4, Teredo all tunnel to an embedded IPv4.
      if (v6.parts[0] === 0x64 && v6.parts[1] === 0xff9b) return false;
      if (v6.parts[0] === 0x2002) return false;
      if (v6.parts[0] === 0x2001 && v6.parts[1] === 0) return false;
      return v6.range() === 'unicast';
    }
  }
  return addr.range() === 'unicast';
}

/** Normalises a host name or address for allow-list comparison. */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (ipaddr.isValid(h)) return ipaddr.parse(h).toNormalizedString();
  return h;
}

/** Parses SSRF_ALLOW_HOSTS (comma-separated). */
export function parseAllowHosts(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(normaliseHost);
}

/**
 * Syntax and scheme rules shared by registration and connect time: http(s), no userinfo, a host;
 * with `httpsOnly`, `https:` on port 443 unless the host is in `allowHosts`.
 * @throws BlockedDestinationError
 */
function parseOutboundUrl(rawUrl: string, policy: OutboundPolicy): { url: URL; host: string; allowed: boolean } {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new BlockedDestinationError();
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BlockedDestinationError();
  if (url.username || url.password) throw new BlockedDestinationError();
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) throw new BlockedDestinationError();
  const allowed = (policy.allowHosts ?? []).includes(normaliseHost(host));
  // The URL parser drops a default port, so `https://x:443/` has port ''.
  if (policy.httpsOnly && !allowed && (url.protocol !== 'https:' || url.port !== '')) throw new BlockedDestinationError(HTTPS_REQUIRED_MESSAGE);
  return { url, host, allowed };
}

/**
 * Checks a URL's syntax and resolves its host to the addresses we may dial.
 * @throws BlockedDestinationError when any address is refused (or the URL breaks the scheme rules)
 */
export async function resolveSafeDestination(rawUrl: string, policy: OutboundPolicy = {}, resolve: Resolver = systemResolver): Promise<{ url: URL; addresses: ResolvedAddress[] }> {
  const { url, host, allowed } = parseOutboundUrl(rawUrl, policy);
  let addresses: ResolvedAddress[];
  if (net.isIP(host)) {
    addresses = [{ address: host, family: net.isIP(host) }];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new BlockedDestinationError();
    }
  }
  if (addresses.length === 0) throw new BlockedDestinationError();
  if (!allowed && !addresses.every((a) => isPublicAddress(a.address))) throw new BlockedDestinationError();
  return { url, addresses };
}

/** One request to a tenant-supplied URL under the rules above. Non-2xx answers are returned, not thrown. */
export async function safeFetch(rawUrl: string, options: SafeFetchOptions = {}): Promise<SafeResponse> {
  const { url, addresses } = await resolveSafeDestination(rawUrl, options, options.resolve);
  const chosen = addresses[0];
  const timeoutMs = options.timeoutMs ?? 15_000;
  const cap = options.maxResponseBytes ?? 64 * 1024;
  const transport = url.protocol === 'https:' ? https : http;
  // Connect to the address we checked, whatever the resolver would say now.
  const lookup = ((_hostname: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address: chosen.address, family: chosen.family }]);
    else cb(null, chosen.address, chosen.family);
  }) as unknown as net.LookupFunction;
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body) headers['content-length'] = String(body.length);

  return new Promise<SafeResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, value?: SafeResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value!);
    };
    const request = transport.request({
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: options.method ?? 'GET',
      headers,
      lookup,
      agent: false,
      servername: net.isIP(url.hostname) ? undefined : url.hostname,
    }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      response.on('data', (chunk: Buffer) => {
        if (truncated) return;
        const room = cap - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          size = cap;
          truncated = true;
          finish(null, { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), truncated });
          response.destroy();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => finish(null, { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), truncated }));
      response.on('error', (err) => finish(err));
    });
    const timer = setTimeout(() => {
      // Settle first: once the response has begun, destroying the request does not always surface an error.
      const err = new Error(`request timed out after ${timeoutMs} ms`);
      finish(err);
      request.destroy(err);
    }, timeoutMs);
    request.on('error', (err) => finish(err));
    if (body) request.end(body);
    else request.end();
  });
}

/**
 * Registration-time check (no DNS): http(s) (https on 443 with `httpsOnly`), no credentials, and an
 * IP-literal host must be public (or allowed). Host names are checked again, resolved, at connect time.
 * @throws BlockedDestinationError
 */
export function assertAllowedUrl(rawUrl: string, policy: OutboundPolicy = {}): URL {
  const { url, host, allowed } = parseOutboundUrl(rawUrl, policy);
  if (allowed) return url;
  if (net.isIP(host) && !isPublicAddress(host)) throw new BlockedDestinationError();
  if (host === 'localhost' || host.endsWith('.localhost')) throw new BlockedDestinationError();
  return url;
}
