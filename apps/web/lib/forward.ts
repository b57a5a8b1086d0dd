import 'server-only';
import { statusOf, type TErrorResponse } from '@modelyard/contracts';
import { webConfig } from './config';

/** Hop-by-hop and framing headers: they describe one connection, not the message, so they are not passed on. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'expect', 'host'];

/**
 * Passes one request to the API and its answer back, streaming both bodies. For the routes proxy.ts must not
 * touch: Next buffers the body of every request the proxy runs for and cuts it at `proxyClientMaxBodySize`
 * (10 MB by default), which would truncate model uploads long before the API's own MAX_UPLOAD_BYTES.
 */
export async function forwardToApi(request: Request, apiPath: string): Promise<Response> {
  const target = new URL(apiPath.replace(/^\//, '') + new URL(request.url).search, webConfig.api.baseUrl);
  const headers = new Headers(request.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  let res: Response;
  try {
    res = await fetch(target, {
      method: request.method,
      headers,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
      // Node's fetch needs this to send a streamed body without reading it all first.
      duplex: 'half',
      redirect: 'manual',
      // A browser that gives up mid-upload aborts the API request too, so the API can discard the partial file.
      signal: request.signal,
    } as RequestInit & { duplex: 'half' });
  } catch (e) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    // Same shape as the API's own errors, so the page shows this message like any other refusal.
    const body: TErrorResponse = {
      error: { code: 'NOT_READY', message: `The dashboard cannot reach the API: ${(e as Error).message}`, errorId: crypto.randomUUID() },
    };
    return Response.json(body, { status: statusOf('NOT_READY') });
  }
  const out = new Headers(res.headers);
  // fetch has already decoded the body, so its original encoding and length no longer describe it.
  for (const h of [...HOP_BY_HOP, 'content-encoding', 'content-length']) out.delete(h);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
}
