import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Bodies up to this size are read to their end after an early answer; a larger one is cut as before. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * An answer sent before the request's body was read (Fastify's 413 for a Content-Length over the limit, which it
 * sends with `Connection: close`; an error in the middle of an upload) must not close the connection while the
 * client is still sending: clients that write the whole body before they read (fetch, httpx, requests, curl)
 * then see EPIPE or a reset instead of the 413. So, what nginx calls a lingering close: for a body of a declared
 * length up to DRAIN_LIMIT_BYTES, the connection is kept and the rest of the body is read and thrown away, after
 * which it serves the next request as usual. Bounded in time by the server's request timeout like any request.
 */
export function lingerAfterEarlyAnswer(req: IncomingMessage, res: ServerResponse): void {
  const declared = Number(req.headers['content-length']);
  if (!(declared > 0 && declared <= DRAIN_LIMIT_BYTES)) return;
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    if (!req.complete) {
      this.removeHeader('connection');
      const headers = args.find(
        (a): a is OutgoingHttpHeaders => typeof a === 'object' && a !== null && !Array.isArray(a),
      );
      if (headers) for (const k of Object.keys(headers)) if (k.toLowerCase() === 'connection') delete headers[k];
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  // A body that was being piped somewhere (an upload that failed) is no longer read by anyone: read it out.
  res.once('finish', () => {
    if (req.complete) return;
    req.unpipe();
    req.resume();
  });
}
