// The dashboard's HTTP server: Next's request handler behind a plain node:http server, because three things need
// the socket, which Next's proxy.ts and route handlers never see:
// - the caller's address: X-Forwarded-For (and -Host, -Proto) are overwritten here from the socket, so what the
//   API reads for login throttling and audit entries cannot be forged by the browser (Next itself only fills
//   these headers when they are missing, i.e. it keeps whatever the client sent);
// - timeouts against slow clients (headers, whole request, idle keep-alive), which `next start` does not set;
// - the /api gate, before Next normalises the path (it answers "//" and "\" with a redirect of its own), and a
//   400 for a path whose percent-encoding is broken, which Next would answer 500.
// `npm start`, `npm test` and the container image all run this file: `node server.mjs` in apps/web.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';
import { apiPathOf } from './lib/api-path.mjs';

const dir = path.dirname(fileURLToPath(import.meta.url));

/** A positive integer setting in milliseconds, or the default; a bad value stops the server at boot. */
function ms(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 100 || n > 86_400_000) {
    console.error(
      `Invalid configuration:\n  - ${name}: must be a whole number of milliseconds (100 to 86400000), got "${raw}"`,
    );
    process.exit(78); // EX_CONFIG, as the api and worker do
  }
  return n;
}

/** The names the api's TRUST_PROXY knows too (proxy-addr's), as CIDRs. */
const NAMED = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/**
 * Peers whose X-Forwarded-* headers are believed (WEB_TRUST_PROXY: comma list of addresses, CIDRs and the names
 * loopback, linklocal, uniquelocal; e.g. the ingress controller's pod network). Nobody by default: the browser's
 * own headers never reach the API.
 */
function trustedPeers(raw) {
  const list = new net.BlockList();
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((i) => NAMED[i] ?? [i]);
  for (const item of items) {
    const [addr, bits] = item.split('/');
    const family = net.isIPv6(addr) ? 'ipv6' : 'ipv4';
    if (!net.isIP(addr) || (bits !== undefined && !/^[0-9]{1,3}$/.test(bits))) {
      console.error(`Invalid configuration:\n  - WEB_TRUST_PROXY: "${item}" is not an address or CIDR`);
      process.exit(78);
    }
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return list;
}

const trusted = trustedPeers(process.env.WEB_TRUST_PROXY);
const isTrusted = (addr) => {
  if (!addr) return false;
  const plain = addr.startsWith('::ffff:') && net.isIPv4(addr.slice(7)) ? addr.slice(7) : addr;
  return trusted.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4');
};
const first = (v) => (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined;

/** Rewrites the X-Forwarded-* headers from what this server knows (see the top of the file). */
function stampForwarded(req) {
  const peer = req.socket.remoteAddress ?? '';
  let client = peer;
  let proto = req.socket.encrypted ? 'https' : 'http';
  let host = req.headers.host;
  if (isTrusted(peer)) {
    // Right to left through the chain of trusted proxies: the first address none of them is, is the client.
    const hops = String(req.headers['x-forwarded-for'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    while (hops.length && isTrusted(client)) client = hops.pop();
    proto = first(req.headers['x-forwarded-proto']) === 'https' ? 'https' : proto;
    host = first(req.headers['x-forwarded-host']) ?? host;
  }
  for (const h of [
    'forwarded',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
    'x-forwarded-port',
    'x-real-ip',
  ]) {
    delete req.headers[h];
  }
  req.headers['x-forwarded-for'] = client;
  req.headers['x-forwarded-proto'] = proto;
  if (host) req.headers['x-forwarded-host'] = host;
}

/** Whether every %XX sequence of a path decodes (as UTF-8): `%E0%A4%A` and `%FF` do not. */
function decodable(p) {
  try {
    decodeURIComponent(p);
    return true;
  } catch {
    return false;
  }
}

const port = Number(process.env.PORT ?? 3000);
// Not HOSTNAME: shells and containers set that one to the machine's name.
const hostname = process.env.WEB_HOST ?? '0.0.0.0';
const headersTimeout = ms('HTTP_HEADERS_TIMEOUT_MS', 10_000);
const requestTimeout = ms('HTTP_REQUEST_TIMEOUT_MS', 300_000);
const keepAliveTimeout = ms('HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000);

const app = next({ dev: false, dir, hostname, port });
const handle = app.getRequestHandler();
await app.prepare();

const server = http.createServer(
  {
    // Node refuses a headers timeout above the request timeout; and it only looks for expired connections every
    // connectionsCheckingInterval (30 s by default), which would let a slow client hold a socket that much longer.
    headersTimeout: Math.min(headersTimeout, requestTimeout),
    requestTimeout,
    keepAliveTimeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
  },
  (req, res) => {
    const url = req.url ?? '/';
    const pathOnly = url.split('?')[0];
    if ((pathOnly === '/api' || pathOnly.startsWith('/api/')) && apiPathOf(pathOnly) === null) {
      res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      const message = 'The dashboard forwards only /api/v<N>/... paths to the API';
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message, errorId: randomUUID() } }));
      return;
    }
    if (pathOnly.includes('%') && !decodable(pathOnly)) {
      // Next throws decoding such a path into a page's parameters: every link like /models/%FF was a 500.
      res.writeHead(400, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      });
      res.end('Bad request: the address has a broken percent-encoding\n');
      return;
    }
    stampForwarded(req);
    void handle(req, res);
  },
);
server.listen(port, hostname, () => console.log(`web listening on http://${hostname}:${port}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // Requests still running after the grace period are cut: the platform's supervisor kills us soon after anyway.
    setTimeout(() => process.exit(0), 5_000).unref();
  });
}
