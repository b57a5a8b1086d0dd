import { isIP } from 'node:net';

/**
 * Which addresses outbound requests (webhooks, prediction callbacks) may connect to. Anything a caller names
 * is public Internet unless an operator says otherwise: loopback, private, link-local, CGNAT, ULA, multicast
 * and the other special-purpose ranges would let a caller reach the platform's own services (Postgres,
 * Redis, the cloud metadata endpoint, the cluster) through our worker.
 */

/** An address as 16 bytes (IPv4 as ::ffff:a.b.c.d) so one range table covers both families. */
type Bytes = Uint8Array;

export interface Cidr {
  bytes: Bytes;
  /** Prefix length over the 128-bit form (an IPv4 /8 is 96 + 8). */
  bits: number;
}

function v4Bytes(ip: string): Bytes | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i]!)) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[12 + i] = n;
  }
  return out;
}

function v6Bytes(ip: string): Bytes | null {
  let s = ip;
  const out = new Uint8Array(16);
  // A trailing dotted quad (::ffff:1.2.3.4, ::1.2.3.4, 64:ff9b::1.2.3.4) fills the last 4 bytes.
  let tail: Bytes | null = null;
  const dot = s.lastIndexOf(':');
  if (s.includes('.')) {
    tail = v4Bytes(s.slice(dot + 1));
    if (!tail) return null;
    s = `${s.slice(0, dot + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const words = (part: string) => (part === '' ? [] : part.split(':'));
  const head = words(halves[0]!);
  const rest = halves.length === 2 ? words(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-f]{1,4}$/i.test(all[i]!)) return null;
    const n = parseInt(all[i]!, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (tail) out.set(tail.subarray(12), 12);
  return out;
}

/** 16 bytes for an IPv4 or IPv6 literal (brackets and a zone id allowed), null when it is not one. */
export function addressBytes(ip: string): Bytes | null {
  let s = ip.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const family = isIP(s);
  if (family === 4) return v4Bytes(s);
  if (family === 6) return v6Bytes(s);
  return null;
}

/** `10.0.0.0/8`, `fc00::/7`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | null {
  const [addr, len, extra] = text.trim().split('/');
  if (extra !== undefined || !addr) return null;
  const bytes = addressBytes(addr);
  if (!bytes) return null;
  const v4 = isIP(addr.replace(/^\[|\]$/g, '')) === 4;
  const max = v4 ? 32 : 128;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return null;
  const n = len === undefined ? max : Number(len);
  if (n > max) return null;
  return { bytes, bits: v4 ? 96 + n : n };
}

export function inCidr(bytes: Bytes, c: Cidr): boolean {
  const whole = c.bits >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== c.bytes[i]) return false;
  const rem = c.bits & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (bytes[whole]! & mask) === (c.bytes[whole]! & mask);
}

const range = (cidr: string, label: string) => ({ cidr: parseCidr(cidr)!, label });

/** IPv4 special-purpose ranges (IANA registry), checked on the mapped form and on every embedded IPv4. */
const V4_REFUSED = [
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'shared (CGNAT)'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'IETF protocol assignments'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', '6to4 relay'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'benchmarking'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved'), // 255.255.255.255 (broadcast) included
];

/** IPv6 ranges refused outright (the ones that embed an IPv4 address are handled before these). */
const V6_REFUSED = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('64:ff9b:1::/48', 'local NAT64'),
  range('100::/64', 'discard-only'),
  range('2001::/23', 'IETF protocol assignments'), // Teredo (2001::/32) included: it tunnels to anywhere
  range('2001:db8::/32', 'documentation'),
  range('3fff::/20', 'documentation'),
  range('5f00::/16', 'segment routing'),
  range('fc00::/7', 'unique local'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'site-local'),
  range('ff00::/8', 'multicast'),
];
const GLOBAL_UNICAST = parseCidr('2000::/3')!;
const V4_MAPPED = parseCidr('::ffff:0:0/96')!;
const V4_COMPATIBLE = parseCidr('::/96')!;
const NAT64 = parseCidr('64:ff9b::/96')!;
const SIX_TO_FOUR = parseCidr('2002::/16')!;

export type AddressVerdict = { allowed: true } | { allowed: false; label: string };

function classifyV4(b: Bytes, via = ''): AddressVerdict {
  const hit = V4_REFUSED.find((r) => inCidr(b, r.cidr));
  return hit ? { allowed: false, label: `${hit.label}${via}` } : { allowed: true };
}

function embeddedV4(b: Bytes, offset: number): Bytes {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(b.subarray(offset, offset + 4), 12);
  return out;
}

/**
 * Whether an address is public unicast. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64,
 * 6to4) are judged by that address, so ::ffff:127.0.0.1 is loopback. Not an IP literal: refused.
 */
export function classifyAddress(ip: string): AddressVerdict {
  const b = addressBytes(ip);
  if (!b) return { allowed: false, label: 'not an IP address' };
  if (inCidr(b, V4_MAPPED)) return classifyV4(b);
  if (inCidr(b, NAT64)) return classifyV4(embeddedV4(b, 12), ' (via NAT64)');
  if (inCidr(b, SIX_TO_FOUR)) return classifyV4(embeddedV4(b, 2), ' (via 6to4)');
  const v6 = V6_REFUSED.find((r) => inCidr(b, r.cidr));
  if (v6) return { allowed: false, label: v6.label };
  if (inCidr(b, V4_COMPATIBLE)) return { allowed: false, label: 'IPv4-compatible IPv6 (deprecated)' };
  if (!inCidr(b, GLOBAL_UNICAST)) return { allowed: false, label: 'reserved' };
  return { allowed: true };
}

/**
 * The operator's exceptions (OUTBOUND_ALLOW_HOSTS): CIDRs or addresses (any port, or `[addr]:port` /
 * `a.b.c.d:port`), and host names (`hooks.internal`, `hooks.internal:8443`) whose every resolved address is
 * then trusted. For on-prem receivers; empty by default, so only public addresses are reachable.
 */
export interface AllowEntry {
  cidr?: Cidr;
  host?: string;
  port?: number;
}

export function parseAllowEntry(text: string): AllowEntry | null {
  const t = text.trim().toLowerCase();
  if (!t) return null;
  let body = t;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(t);
  if (bracketed) {
    body = bracketed[1]!;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (!t.includes('::') && (t.match(/:/g) ?? []).length === 1) {
    const [h, p] = t.split(':');
    if (!/^\d{1,5}$/.test(p!)) return null;
    body = h!;
    port = Number(p);
  }
  if (port !== undefined && (port < 1 || port > 65535)) return null;
  const cidr = parseCidr(body);
  if (cidr) return { cidr, port };
  if (body.includes('/')) return null;
  if (!/^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/.test(body)) return null;
  return { host: body, port };
}

/** Entries from a comma/space separated list; throws naming the first bad one (config errors surface at boot). */
export function parseAllowList(entries: readonly string[]): AllowEntry[] {
  return entries.map((e) => {
    const parsed = parseAllowEntry(e);
    if (!parsed)
      throw new Error(`OUTBOUND_ALLOW_HOSTS: "${e}" is not an address, CIDR or host name (with an optional :port)`);
    return parsed;
  });
}

export class AddressPolicy {
  constructor(private readonly allow: readonly AllowEntry[] = []) {}

  /** The operator named this host (and port): whatever it resolves to is trusted. */
  hostAllowed(host: string, port: number): boolean {
    const h = host
      .toLowerCase()
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, '');
    return this.allow.some((a) => a.host === h && (a.port === undefined || a.port === port));
  }

  /** Whether a connection to this address and port may be made (public, or inside an allowed CIDR). */
  check(address: string, port: number): AddressVerdict {
    const verdict = classifyAddress(address);
    if (verdict.allowed) return verdict;
    const b = addressBytes(address);
    if (b && this.allow.some((a) => a.cidr && inCidr(b, a.cidr) && (a.port === undefined || a.port === port))) {
      return { allowed: true };
    }
    return verdict;
  }
}
