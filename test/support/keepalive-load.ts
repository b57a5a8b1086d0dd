import http from 'node:http';

/** One POST over `agent`: the status (or the network error's code) and how long it took. Never throws. */
export function postJson(
  url: URL,
  agent: http.Agent,
  token: string,
  body: string,
): Promise<{ status: number | string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, ms: performance.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ status: e.code ?? e.message, ms: performance.now() - started }),
    );
    req.end(body);
  });
}
