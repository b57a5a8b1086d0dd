import 'server-only';
import { statusOf, type TErrorResponse } from '@modelyard/contracts';
import { apiTarget } from './api-path.mjs';
import { apiCookieHeader, SESSION_COOKIE, SSO_FLOW_COOKIE, webConfig } from './config';

/** Hop-by-hop and framing headers: they describe one connection, not the message, so they are not passed on. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'expect',
  'host',
];

/**
 * Request headers never passed to the API: the browser's other cookies (only the session and a single sign-on's
 * flow state are the API's business),
 * proxy headers other than the three server.mjs stamped from the socket, and Next's internal ones.
 */
const DROPPED = ['cookie', 'forwarded', 'x-real-ip', 'x-forwarded-port', 'x-modelyard-path', 'x-modelyard-project'];
const STAMPED = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'];

function errorResponse(code: 'NOT_FOUND' | 'NOT_READY', message: string): Response {
  // Same shape as the API's own errors, so the page shows this message like any other refusal.
  const body: TErrorResponse = { error: { code, message, errorId: crypto.randomUUID() } };
  return Response.json(body, { status: statusOf(code), headers: { 'cache-control': 'no-store' } });
}

function requestHeaders(request: Request): Headers {
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    if (HOP_BY_HOP.includes(name) || DROPPED.includes(name) || name.startsWith('x-middleware-')) continue;
    // server.mjs overwrote these from the socket; anything else claiming to be a proxy header is the client's.
    if (name.startsWith('x-forwarded-') && !STAMPED.includes(name)) continue;
    headers.set(name, value);
  }
  // The session, and the sealed state of a single sign-on under way (its callback comes through here).
  const cookies = apiCookieHeader(request.headers.get('cookie'), [SESSION_COOKIE, SSO_FLOW_COOKIE]);
  if (cookies !== undefined) headers.set('cookie', cookies);
  return headers;
}

/**
 * Passes one browser request under /api/v<N>/ to the API and its answer back, streaming both bodies (Next's
 * proxy would buffer request bodies and cut them at 10 MB, well below the API's upload limits). Any other path,
 * or one that would leave API_URL's origin, is a 404 and opens no connection.
 */
export async function forwardToApi(request: Request): Promise<Response> {
  const { pathname, search } = new URL(request.url);
  const target = apiTarget(pathname, search, webConfig.api.baseUrl);
  if (!target) return errorResponse('NOT_FOUND', 'The dashboard forwards only /api/v<N>/... paths to the API');
  let res: Response;
  try {
    res = await fetch(target, {
      method: request.method,
      headers: requestHeaders(request),
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
      // Node's fetch needs this to send a streamed body without reading it all first.
      duplex: 'half',
      redirect: 'manual',
      cache: 'no-store',
      // A browser that gives up mid-upload aborts the API request too, so the API can discard the partial file.
      signal: request.signal,
    } as RequestInit & { duplex: 'half' });
  } catch {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    // The network error names API_URL's host and port: they stay in the server's log, not in the answer.
    console.error(`the dashboard cannot reach the API at ${target.origin}`);
    return errorResponse('NOT_READY', 'The dashboard cannot reach the API');
  }
  const out = new Headers(res.headers);
  // fetch has already decoded the body, so its original encoding and length no longer describe it.
  for (const h of [...HOP_BY_HOP, 'content-encoding', 'content-length']) out.delete(h);
  // An absolute redirect to the API itself would tell the browser where the API lives: point it at /api instead.
  const location = out.get('location');
  if (location) {
    const to = new URL(location, target);
    const base = new URL(webConfig.api.baseUrl);
    if (to.origin === base.origin && to.pathname.startsWith(base.pathname)) {
      out.set('location', `/api/${to.pathname.slice(base.pathname.length)}${to.search}`);
    }
  }
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
}
