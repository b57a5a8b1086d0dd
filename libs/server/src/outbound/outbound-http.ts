import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import tls from 'node:tls';
import { Inject, Injectable } from '@nestjs/common';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG } from '../platform/tokens.js';
import { traced, tracer, tracing } from '../platform/tracing.js';
import { AddressPolicy, addressBytes, parseAllowList } from './address-policy.js';

/**
 * What an outbound attempt ended as. Reasons are ours, never the network's: a raw error would tell the caller
 * what answered on an internal address (refused, reset, a TLS name, a resolver's message).
 */
export type OutboundResult =
  | { outcome: 'answered'; status: number }
  | { outcome: 'refused'; reason: string }
  | { outcome: 'failed'; reason: 'connection failed' | 'timed out' };

export const REFUSED_REASON = 'the target address is not allowed';

/** Raised inside lookup/connect when an address is refused: the request stops before any byte is sent. */
class RefusedTarget extends Error {
  constructor(
    readonly address: string,
    readonly label: string,
  ) {
    super(`outbound target ${address} refused (${label})`);
  }
}

export interface OutboundRequest {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** What a URL must look like before it is stored (webhooks) or queued (callbacks). null when fine. */
export function urlShapeProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http or https URL';
  if (u.username || u.password) return 'must not carry credentials';
  if (!u.hostname) return 'has no host';
  return null;
}

type Connect = (opts: http.ClientRequestArgs, cb: (err: Error | null, socket: net.Socket) => void) => net.Socket;

/**
 * The one HTTP client for requests to addresses users chose (webhooks, prediction callbacks). Every address a
 * name resolves to is checked before connecting (one bad address refuses the request: a rebinding resolver
 * mixing a public and a private answer gains nothing), the connected socket's peer is checked again before a
 * byte is written, redirects are never followed, and the response is reduced to its status line.
 */
export class OutboundClient {
  readonly policy: AddressPolicy;

  /** `resolver` stands in for DNS in unit tests (a rebinding resolver); the system resolver otherwise. */
  constructor(
    allowHosts: readonly string[],
    private readonly resolve: LookupFunction = dnsLookup as LookupFunction,
  ) {
    this.policy = new AddressPolicy(parseAllowList(allowHosts));
  }

  /**
   * Refusal known from the URL alone (a literal address outside the allow-list), for a 400 at submit time.
   * Names are only judged when connecting, since what they resolve to can change.
   */
  literalRefusal(raw: string): string | null {
    const u = new URL(raw);
    const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
    if (!addressBytes(u.hostname) || this.policy.hostAllowed(u.hostname, port)) return null;
    const v = this.policy.check(u.hostname, port);
    return v.allowed ? null : `points at a ${v.label} address, which outbound requests may not reach`;
  }

  async post(raw: string, req: OutboundRequest): Promise<OutboundResult> {
    if (!tracing.on) return this.send(raw, req);
    // A client span in the trace at hand (the worker's job), and its W3C context in the request for the receiver.
    // The URL's path and query are left out: callers put tokens there.
    let attrs: Record<string, string | number> = { 'http.request.method': 'POST' };
    try {
      const u = new URL(raw);
      attrs = {
        ...attrs,
        'server.address': u.hostname,
        'server.port': Number(u.port) || (u.protocol === 'https:' ? 443 : 80),
      };
    } catch {
      /* send() refuses it */
    }
    return traced('POST', 'client', attrs, async (span) => {
      if (!span) return this.send(raw, req);
      const r = await this.send(raw, { ...req, headers: { ...req.headers, ...tracer().carrierOf(span) } });
      if (r.outcome === 'answered') tracer().endHttp(span, r.status, 'client', false);
      else tracer().fail(span, r.outcome === 'refused' ? 'refused' : r.reason);
      return r;
    });
  }

  private async send(raw: string, req: OutboundRequest): Promise<OutboundResult> {
    const shape = urlShapeProblem(raw);
    if (shape) return { outcome: 'refused', reason: `the URL ${shape}` };
    const u = new URL(raw);
    const secure = u.protocol === 'https:';
    const port = Number(u.port) || (secure ? 443 : 80);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const trusted = this.policy.hostAllowed(host, port);
    if (!trusted && addressBytes(host) && !this.policy.check(host, port).allowed) {
      return { outcome: 'refused', reason: REFUSED_REASON };
    }
    const lookup = this.checkedLookup(port, trusted);
    const verifyPeer = (socket: net.Socket) => {
      // Whatever the resolver said, the address actually connected is what counts.
      socket.once('connect', () => {
        const peer = socket.remoteAddress ?? '';
        const v = this.policy.check(peer, port);
        if (!trusted && !v.allowed) socket.destroy(new RefusedTarget(peer, v.label));
      });
      return socket;
    };
    const createConnection: Connect = () =>
      verifyPeer(
        secure
          ? tls.connect({
              host,
              port,
              lookup,
              servername: net.isIP(host) ? undefined : host,
              ALPNProtocols: ['http/1.1'],
            })
          : net.connect({ host, port, lookup }),
      );

    return new Promise<OutboundResult>((resolve) => {
      let settled = false;
      const done = (r: OutboundResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const client = (secure ? https : http).request({
        method: 'POST',
        host,
        port,
        path: `${u.pathname}${u.search}`,
        createConnection,
        headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
      });
      const timer = setTimeout(() => {
        done({ outcome: 'failed', reason: 'timed out' });
        client.destroy();
      }, req.timeoutMs);
      client.on('response', (res) => {
        // Only the status matters; the body is never read, so a huge or endless answer costs nothing.
        done({ outcome: 'answered', status: res.statusCode ?? 0 });
        res.destroy();
        client.destroy();
      });
      client.on('error', (e) => {
        done(
          e instanceof RefusedTarget
            ? { outcome: 'refused', reason: REFUSED_REASON }
            : { outcome: 'failed', reason: 'connection failed' },
        );
      });
      client.end(req.body);
    });
  }

  /** A lookup that resolves every address itself and refuses the lot when any one is not allowed. */
  private checkedLookup(port: number, trusted: boolean): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname, { ...options, all: true }, (err, addresses) => {
        const list = (Array.isArray(addresses) ? addresses : []) as LookupAddress[];
        if (err) return callback(err, '', 0);
        if (!list.length) return callback(new Error('no address'), '', 0);
        if (!trusted) {
          for (const a of list) {
            const v = this.policy.check(a.address, port);
            if (!v.allowed) return callback(new RefusedTarget(a.address, v.label), '', 0);
          }
        }
        if ((options as { all?: boolean }).all)
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        return callback(null, list[0]!.address, list[0]!.family);
      });
    };
  }
}

/** The platform's instance, with the operator's allow-list. */
@Injectable()
export class OutboundHttp extends OutboundClient {
  constructor(@Inject(COMMON_CONFIG) cfg: CommonConfig) {
    super(cfg.outbound.allowHosts);
  }
}
