import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { freePort, startProcess, waitReady, type AppProcess } from './processes.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request with the path sent byte for byte as given: fetch and new URL() would normalise "//", "\" and
 * dot segments away, which is exactly what the proxy probes must not lose.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path: rawPath,
        agent: false,
        headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${rawPath}: no answer within 15 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A TCP listener on 127.0.0.1 that counts every connection made to it (and answers plain HTTP if asked). */
export async function connectionRecorder(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\nconnection: close\r\n\r\nstolen'),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** An HTTP server standing in for the API: it records each request's method, path and headers, and answers 200. */
export async function requestRecorder() {
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Starts a dashboard of its own (apps/web/server.mjs on the built app, as `npm start` runs it) with other
 * settings, e.g. another API_URL or short timeouts. Resolves once /login answers.
 */
export async function startWeb(env: Record<string, string>, port?: number): Promise<AppProcess & { url: string }> {
  port ??= await freePort();
  const proc = Object.assign(
    startProcess('web', ['server.mjs'], {
      cwd: path.resolve('apps/web'),
      env: { NODE_ENV: 'production', PORT: String(port), WEB_HOST: '127.0.0.1', ...env },
    }),
    { url: `http://127.0.0.1:${port}` },
  );
  try {
    await waitReady(`${proc.url}/login`, proc);
  } catch (e) {
    await proc.kill();
    throw e;
  }
  return proc;
}
