import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { statusOf, type ErrorCode } from '@modelyard/contracts';
import { can, type AuthService, type WorkerMetrics } from '@modelyard/server';

const BEARER = /^Bearer\s+(\S{16,512})$/i;

/**
 * The worker's only HTTP: `GET /metrics` (Prometheus text, for a key with the scope the api's /metrics needs)
 * and `GET /healthz`. Plain node:http: the worker has no framework to host routes, and needs none for two.
 */
export function startMetricsServer(
  opts: { port: number; host: string },
  metrics: WorkerMetrics,
  auth: AuthService,
  log: Logger,
): Promise<Server> {
  const refuse = (res: import('node:http').ServerResponse, code: ErrorCode, message: string) => {
    res.writeHead(statusOf(code), { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: { code, message, errorId: '' } }));
  };
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || (path !== '/metrics' && path !== '/healthz'))
        return refuse(res, 'NOT_FOUND', 'Not found');
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"status":"ok"}');
      }
      const key = BEARER.exec(req.headers.authorization ?? '')?.[1];
      const who = key ? await auth.resolveApiKey(key, req.socket.remoteAddress ?? null) : null;
      if (!who) return refuse(res, 'UNAUTHENTICATED', 'An API key with the models:read scope is needed');
      if (!can(who, 'metrics.read'))
        return refuse(res, 'FORBIDDEN', 'This API key lacks a scope for this: one of models:read, admin');
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
    })().catch((err: unknown) => {
      log.error({ err }, 'metrics request failed');
      if (!res.headersSent) refuse(res, 'INTERNAL', 'The metrics could not be read');
    });
  });
  // Slow or idle clients cannot hold the worker's sockets open.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      log.info({ port: opts.port }, 'worker metrics listening');
      resolve(server);
    });
  });
}
