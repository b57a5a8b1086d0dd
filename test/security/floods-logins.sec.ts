import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { e2eEnv } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { ownApi, percentile, statusLine } from '../support/load.js';
import { flood, rawRequest, type FloodResult } from '../support/raw-http.js';
import type { AppProcess } from '../support/processes.js';

const env = e2eEnv();

/** 200 logins a second from distinct emails and addresses, from a thread of its own (login-flood.worker.ts). */
function loginFlood(port: number, perSecond: number, ms: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('../support/login-flood.worker.js', import.meta.url), { workerData: { port, perSecond, ms } });
    w.once('message', (m: Record<string, number>) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

/**
 * argon2 login checks (unknown emails too) used to run as fast as logins came, on libuv's threads, taking the
 * cores predictions need: ~80 logins/s with distinct emails starved them. With a per-process login budget and
 * one hash at a time, predictions at c=8 keep their p99 within 2x of a quiet run during 10 s of 200 logins/s.
 */
describe('floods: logins with distinct emails from distinct addresses', () => {
  let api: { url: string; proc: AppProcess };
  let model: string;
  before(async () => {
    ({ model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg'));
    api = await ownApi('floods-logins', {});
  });
  after(async () => {
    await api?.proc.kill();
  });

  it('keeps prediction p99 at c=8 within 2x of a quiet run, with no 5xx, during 10 s of 200 logins/s', async (t) => {
    const port = Number(new URL(api.url).port);
    const request = rawRequest('POST', `/v1/models/${model}/predict`, { authorization: `Bearer ${env.adminApiKey}`, 'content-type': 'application/json' },
      JSON.stringify({ payload: records(samples('iris_logreg')).slice(0, 1) }));
    const predictions = (ms: number) => flood(port, () => request, { connections: 8, depth: 1, ms, max: 1_000_000 });
    await predictions(1000); // warm-up
    const quiet = await predictions(5000);
    const [flooded, logins] = await Promise.all([predictions(10_000), loginFlood(port, 200, 10_000)]);
    const summary = (r: FloodResult) => `${r.n} requests, p50 ${percentile(r.latencies, 50).toFixed(2)} ms, p99 ${percentile(r.latencies, 99).toFixed(2)} ms (${statusLine(r.statuses)})`;
    const [q99, f99] = [percentile(quiet.latencies, 99), percentile(flooded.latencies, 99)];
    t.diagnostic(`predictions at c=8, quiet: ${summary(quiet)}`);
    t.diagnostic(`predictions at c=8 during 10 s of 200 logins/s: ${summary(flooded)}; p99 ${(f99 / q99).toFixed(2)}x quiet`);
    t.diagnostic(`logins: ${JSON.stringify(logins)}`);
    assert.deepEqual([...quiet.statuses.keys()], [200]);
    assert.deepEqual([...flooded.statuses.keys()], [200], statusLine(flooded.statuses));
    const sentLogins = Object.values(logins).reduce((a, b) => a + b, 0);
    assert.equal(sentLogins, 2000);
    assert.deepEqual(Object.keys(logins).filter((s) => s !== '401' && s !== '429'), [], JSON.stringify(logins));
    assert.ok((logins['429'] ?? 0) > 0, 'the budget refused some logins');
    // Passwords checked (401s): at most LOGIN_GLOBAL_PER_SECOND (10) a second and its burst, whatever came.
    assert.ok((logins['401'] ?? 0) <= 10 * 11 + 10, JSON.stringify(logins));
    assert.ok(f99 <= 2 * q99, `p99 ${f99.toFixed(2)} ms during the flood vs ${q99.toFixed(2)} ms quiet`);
  });
});
