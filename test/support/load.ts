import { http } from '@modelyard/testing';
import { freePort, startApp, waitReady, type AppProcess } from './processes.js';

/** An api process of a test's own (own port and Redis prefix) on the shared Postgres, Redis and storage. */
export async function ownApi(name: string, env: Record<string, string>): Promise<{ url: string; proc: AppProcess }> {
  const port = await freePort();
  const proc = startApp(name, 'api', {
    REDIS_PREFIX: `${name}-${Date.now().toString(36)}`,
    PREDICTION_LOG_SAMPLE_RATE: '0',
    RATE_LIMIT_RPS: '100000',
    RATE_LIMIT_BURST: '100000',
    API_PORT: String(port),
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`, proc);
  return { url, proc };
}

/** The value below which `p` percent of `sorted` (ascending) lie. */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

/** `/metrics` as text (the admin key has models:read). */
export async function metricsText(apiUrl: string, adminKey: string): Promise<string> {
  const r = await http(apiUrl, 'GET', '/metrics', { token: adminKey });
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.text}`);
  return r.text;
}

/** The sum of a metric's samples whose line contains every one of `having` (label text such as `model="x"`). */
export function metricSum(text: string, name: string, ...having: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (having.every((h) => line.includes(h))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export const statusLine = (s: Map<number, number>) =>
  [...s]
    .sort((a, b) => a[0] - b[0])
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
