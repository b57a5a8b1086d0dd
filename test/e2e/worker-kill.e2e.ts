import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { irisCsv, registerFixture, submitBatchJob } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();

/**
 * Kill a worker with SIGKILL in the middle of a 200,000-row batch job: another worker finishes it and the output
 * has exactly one row per input row. These processes use a Redis prefix of their own, so the shared worker of
 * the other tests never takes their jobs.
 */
describe('a worker killed mid-job', () => {
  const procs: AppProcess[] = [];
  const prefix = uniqueId('kill');
  // Small chunks and a short lock: many chunks (each a progress write) to die between, and a quick hand-over.
  const common = { REDIS_PREFIX: prefix, BATCH_CHUNK_ROWS: '200', WORKER_LOCK_MS: '2000', WORKER_CONCURRENCY: '1' };
  let api: string;
  let model: string;

  before(async () => {
    model = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
    const port = await freePort();
    const a = startApp('api-k', 'api', { ...common, API_PORT: String(port) });
    procs.push(a);
    api = `http://127.0.0.1:${port}`;
    await waitReady(`${api}/readyz`, a);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  });

  it('loses no row and writes none twice when a second worker takes over', async () => {
    const w1 = startApp('worker-1', 'worker', common);
    procs.push(w1);
    const n = 200_000;
    const job = {
      id: await submitBatchJob(
        api,
        env.adminApiKey,
        { model, output: { columns: 'id', idColumn: 'id' } },
        irisCsv(n),
        'big.csv',
      ),
    };

    // Kill the first worker once it has written some chunks but is far from done.
    let seen = { status: 'queued', rowsIn: 0 };
    for (let i = 0; i < 3000 && !(seen.status === 'running' && seen.rowsIn >= 5000); i++) {
      seen = (await http(api, 'GET', `/v1/jobs/${job.id}`, { token: env.adminApiKey })).json;
      assert.notEqual(seen.status, 'succeeded', 'the job finished before the worker could be killed');
      await new Promise((r) => setTimeout(r, 10));
    }
    await w1.kill('SIGKILL');
    const atKill = (await http(api, 'GET', `/v1/jobs/${job.id}`, { token: env.adminApiKey })).json;
    assert.equal(atKill.status, 'running');
    assert.ok(atKill.rowsIn > 0 && atKill.rowsIn < n, `rows at kill: ${atKill.rowsIn}`);

    const w2 = startApp('worker-2', 'worker', common);
    procs.push(w2);
    let done = atKill;
    for (let i = 0; i < 600 && ['queued', 'running'].includes(done.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = (await http(api, 'GET', `/v1/jobs/${job.id}`, { token: env.adminApiKey })).json;
    }
    assert.equal(done.status, 'succeeded', `${done.status} ${done.error ?? ''}\n${w2.tail()}`);
    // One worker holds the file and writes the output once: the first left nothing behind, the second wrote it all.
    const pids = (done.workers as string[]).map((w) => Number(w.split(':').pop()));
    assert.deepEqual(pids, [w2.child.pid], `workers ${done.workers}`);
    assert.deepEqual([done.rowsIn, done.rowsOut, done.rowsFailed], [n, n, 0]);
    const out = await fetch(`${api}/v1/jobs/${job.id}/files/output`, {
      headers: { authorization: `Bearer ${env.adminApiKey}` },
    });
    const outLines = (await out.text()).trimEnd().split('\n');
    assert.equal(outLines.length, n + 1);
    const ids = outLines.slice(1).map((l) => l.slice(0, l.indexOf(',')));
    assert.equal(new Set(ids).size, n, 'every input row exactly once');
    assert.equal(ids[0], 'r0');
    assert.equal(ids[n - 1], `r${n - 1}`);
  });
});
