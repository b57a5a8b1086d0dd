import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { irisCsv, records, registerFixture, samples, submitBatchJob } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();

/**
 * Issue 9's multi-process proof on one box: two api processes and two workers over one Postgres and one Redis
 * (with a Redis prefix of their own, so the shared worker of the other tests never takes their jobs).
 */
describe('two api processes and two workers', () => {
  const procs: AppProcess[] = [];
  const prefix = uniqueId('mp');
  const common = {
    REDIS_PREFIX: prefix,
    BATCH_CHUNK_ROWS: '1000',
    // Cut every input into chunk jobs (a small one is otherwise scored by the worker that reads it).
    BATCH_INLINE_MAX_BYTES: '0',
    WORKER_CONCURRENCY: '1',
    RATE_LIMIT_RPS: '40',
    RATE_LIMIT_BURST: '40',
  };
  const apis: string[] = [];
  const workers: AppProcess[] = [];
  const row = { payload: records(samples('iris_logreg')).slice(0, 1) };

  before(async () => {
    for (let i = 1; i <= 2; i++) {
      const port = await freePort();
      const a = startApp(`api-${i}`, 'api', { ...common, API_PORT: String(port) });
      procs.push(a);
      apis.push(`http://127.0.0.1:${port}`);
      workers.push(startApp(`worker-${i}`, 'worker', common));
    }
    procs.push(...workers);
    await Promise.all(apis.map((u, i) => waitReady(`${u}/readyz`, procs[i]!)));
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
  });

  it('serves a promotion made through api #1 from api #2 within a second', async () => {
    const { model, version: v1 } = await registerFixture(apis[0]!, env.adminApiKey, 'iris_logreg');
    const { version: v2 } = await registerFixture(apis[0]!, env.adminApiKey, 'iris_rf', { model, promote: false });
    const predict2 = () => http(apis[1]!, 'POST', `/v1/models/${model}/predict`, { token: env.adminApiKey, body: row });
    assert.equal((await predict2()).headers.get('x-model-version'), String(v1));
    const promoted = await http(apis[0]!, 'POST', `/v1/models/${model}/versions/${v2}/stage`, {
      token: env.adminApiKey,
      body: { stage: 'Production' },
    });
    assert.equal(promoted.status, 200, promoted.text);
    const t = Date.now();
    let served = '';
    while (served !== String(v2) && Date.now() - t < 3000) {
      const r = await predict2();
      assert.equal(r.status, 200, r.text);
      served = r.headers.get('x-model-version')!;
      if (served !== String(v2)) await new Promise((res) => setTimeout(res, 50));
    }
    const ms = Date.now() - t;
    assert.equal(served, String(v2));
    assert.ok(ms < 1000, `api #2 served the new version after ${ms} ms`);
  });

  it('holds one rate limit per key across both apis', async () => {
    const { model } = await registerFixture(apis[0]!, env.adminApiKey, 'iris_logreg');
    const sa = await http(apis[0]!, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: uniqueId('mp-sa'), role: 'viewer' },
    });
    const key = (
      await http(apis[0]!, 'POST', '/v1/api-keys', {
        token: env.adminApiKey,
        body: { name: 'k', scopes: ['predict'], serviceAccountId: sa.json.id },
      })
    ).json.secret;
    const t = Date.now();
    const results = await Promise.all(
      Array.from({ length: 160 }, (_, i) =>
        http(apis[i % 2]!, 'POST', `/v1/models/${model}/predict`, { token: key, body: row }),
      ),
    );
    const seconds = (Date.now() - t) / 1000;
    const ok = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429);
    assert.equal(ok + limited.length, 160);
    // One bucket of 40 (+ 40/s refill) shared by both: two buckets would let about twice as many through.
    assert.ok(ok <= 40 + Math.ceil(40 * seconds) + 2, `${ok} of 160 got through in ${seconds.toFixed(2)} s`);
    assert.ok(limited.length > 0 && limited.every((r) => Number(r.headers.get('retry-after')) >= 1));
    assert.ok(
      [0, 1].every((i) => results.some((r, k) => k % 2 === i && r.status === 429)),
      'both apis refuse',
    );
  });

  it('holds a dashboard session across both apis, and a logout on one ends it on the other', async () => {
    const login = await fetch(`${apis[0]}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: env.adminEmail, password: env.adminPassword }),
    });
    assert.equal(login.status, 200, await login.text());
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    assert.equal((await http(apis[1]!, 'GET', '/v1/me', { cookie })).json.email, env.adminEmail);
    assert.equal((await http(apis[1]!, 'POST', '/v1/auth/logout', { cookie })).status < 300, true);
    assert.equal((await http(apis[0]!, 'GET', '/v1/me', { cookie })).status, 401);
  });

  it('shares one batch job between both workers, every row once', async () => {
    const { model } = await registerFixture(apis[0]!, env.adminApiKey, 'iris_logreg');
    const n = 100_000;
    const job = {
      id: await submitBatchJob(
        apis[1]!,
        env.adminApiKey,
        { model, output: { columns: 'id', idColumn: 'id' } },
        irisCsv(n),
        'shared.csv',
      ),
    };
    let done: any;
    for (let i = 0; i < 600; i++) {
      done = (await http(apis[0]!, 'GET', `/v1/jobs/${job.id}`, { token: env.adminApiKey })).json;
      if (!['queued', 'running'].includes(done.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(done.status, 'succeeded', done.error);
    assert.deepEqual([done.rowsIn, done.rowsOut], [n, n]);
    const pids = (done.workers as string[]).map((w) => Number(w.split(':').pop())).sort();
    assert.deepEqual(pids, workers.map((w) => w.child.pid).sort(), `chunks scored by ${done.workers}`);
    const out = await (
      await fetch(`${apis[0]}/v1/jobs/${job.id}/files/output`, {
        headers: { authorization: `Bearer ${env.adminApiKey}` },
      })
    ).text();
    const ids = out
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.slice(0, l.indexOf(',')));
    assert.equal(ids.length, n);
    assert.equal(new Set(ids).size, n);
  });
});
