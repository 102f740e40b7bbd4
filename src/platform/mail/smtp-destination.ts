/**
 * SSRF policy for tenant-set SMTP hosts (reference/security.md §4): the host is
 * resolved once, every address must be public unicast (or inside an explicit
 * allowlist of exact IPs/CIDRs), the port must be 25/465/587/2525 (any port for
 * allowlisted addresses), and the caller connects to the checked address,
 * keeping the hostname for TLS SNI and certificate checks (no DNS rebinding).
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export const SMTP_PORTS: readonly number[] = [25, 465, 587, 2525];

export interface SmtpDestination {
  /** The checked IP address to dial. */
  address: string;
  port: number;
  /** Name for SNI / certificate verification (undefined for IP literals). */
  servername?: string;
}

/** Thrown for any refused destination; one uniform message so the feature is no port scanner. */
export class BlockedDestinationError extends Error {
  readonly code = 'EBLOCKED';
  constructor() {
    super('SMTP host is not allowed (it must resolve to a public address and use port 25, 465, 587 or 2525)');
    this.name = 'BlockedDestinationError';
  }
}

export class SmtpAddressPolicy {
  private readonly allow = new net.BlockList();
  private readonly hasAllow: boolean;

  /** @param allowList exact IPs or CIDRs that may be private/loopback (tests, local relays) */
  constructor(allowList: readonly string[]) {
    for (const entry of allowList) {
      const [ip, bits] = entry.split('/');
      const type = net.isIPv6(ip) ? 'ipv6' : 'ipv4';
      if (!net.isIP(ip)) throw new Error(`SMTP_ALLOW_HOSTS: ${entry} is not an IP address or CIDR`);
      if (bits === undefined) this.allow.addAddress(ip, type);
      else this.allow.addSubnet(ip, Number(bits), type);
    }
    this.hasAllow = allowList.length > 0;
  }

  isAllowListed(address: string): boolean {
    if (!this.hasAllow) return false;
    return this.allow.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  }

  /** Resolves and checks `host:port`; throws BlockedDestinationError when refused. */
  async resolve(host: string, port: number): Promise<SmtpDestination> {
    const literal = host.replace(/^\[|\]$/g, '');
    let addresses: string[];
    if (net.isIP(literal)) addresses = [literal];
    else {
      if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) throw new BlockedDestinationError();
      try {
        addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
      } catch (err) {
        const error = new Error(`SMTP host ${host} could not be resolved`, { cause: err }) as Error & { code: string };
        error.code = 'EDNS';
        throw error;
      }
    }
    if (addresses.length === 0) throw new BlockedDestinationError();
    for (const address of addresses) {
      const allowListed = this.isAllowListed(address);
      if (!allowListed && (!isPublicUnicast(address) || !SMTP_PORTS.includes(port))) throw new BlockedDestinationError();
    }
    return { address: addresses[0], port, servername: net.isIP(literal) ? undefined : host };
  }
}

/** True for public unicast addresses (ipaddr.js ranges, with IPv4-mapped and IPv4-compatible forms unwrapped). */
export function isPublicUnicast(address: string): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return false;
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return isPublicUnicast(v6.toIPv4Address().toString());
    // Deprecated IPv4-compatible ::a.b.c.d, which ipaddr.js calls unicast.
    const parts = v6.parts;
    if (parts.slice(0, 6).every((p) => p === 0)) return false;
  }
  return parsed.range() === 'unicast';
}
