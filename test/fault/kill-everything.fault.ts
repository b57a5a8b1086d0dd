import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { irisCsv, registerFixture, submitBatchJob } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';
import { OwnRedis } from '../support/redis-server.js';

const env = e2eEnv();
const token = env.adminApiKey;

/**
 * SIGKILL of the api, the worker and Redis together in the middle of a batch job, then everything started again
 * as `npm start` would: the job completes with every row once, and what Redis held (the prediction store, a
 * schedule's scheduler) survived the crash through its append-only file. Postgres keeps running here: its own
 * crash recovery (the WAL) is Postgres's job.
 */
describe('every Modelyard process and Redis SIGKILLed mid-job', () => {
  let redis: OwnRedis;
  const procs: AppProcess[] = [];
  let own: Record<string, string> = {};
  let apiPort = 0;
  let base = '';
  let model = '';

  const startApi = async () => {
    const a = startApp('api-crash', 'api', { ...own, API_PORT: String(apiPort) });
    procs.push(a);
    await waitReady(`${base}/readyz`, a);
  };
  const startWorker = () => procs.push(startApp('worker-crash', 'worker', own));

  before(async () => {
    model = (await registerFixture(env.apiUrl, token, 'iris_logreg')).model;
    redis = new OwnRedis(await freePort());
    await redis.start();
    apiPort = await freePort();
    base = `http://127.0.0.1:${apiPort}`;
    own = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: uniqueId('crash'),
      BATCH_CHUNK_ROWS: '2000',
      WORKER_LOCK_MS: '2000',
      RECONCILE_SECONDS: '1',
    };
    await startApi();
    startWorker();
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await redis.stop();
  });

  const job = async (id: string) => (await http(base, 'GET', `/v1/jobs/${id}`, { token })).json;
  const finished = async (id: string, timeoutMs = 120_000) => {
    const end = Date.now() + timeoutMs;
    let j = await job(id);
    while (['queued', 'running'].includes(j.status) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      j = await job(id);
    }
    return j;
  };

  it('completes the job exactly, and the prediction store and the schedule survive', async () => {
    const stored = await finished(
      await submitBatchJob(
        base,
        token,
        { model, output: { columns: 'id', idColumn: 'id' }, store: { entityColumn: 'id' } },
        irisCsv(50, 'stored-'),
      ),
    );
    assert.equal(stored.status, 'succeeded', stored.error);
    const entity = async () => http(base, 'GET', `/v1/models/${model}/predictions/stored-7`, { token });
    const before = await entity();
    assert.equal(before.status, 200, before.text);
    const schedule = await http(base, 'POST', '/v1/schedules', {
      token,
      body: {
        name: 'nightly',
        model,
        cron: '0 3 * * *',
        inputPrefix: `file://${process.env.E2E_STORAGE_LOCAL_ROOT}/crash-${uniqueId('p')}/`,
      },
    });
    assert.equal(schedule.status, 201, schedule.text);
    // The append-only file is written every second: give the last writes that long, as a real crash might not.
    await new Promise((r) => setTimeout(r, 1_500));

    // Enough rows that the job is still running when the kill lands: a worker holding the file scores 60,000
    // in a fraction of a second, so between the poll below and the kill it could finish.
    const n = 200_000;
    const id = await submitBatchJob(base, token, { model, output: { columns: 'id', idColumn: 'id' } }, irisCsv(n));
    let seen = await job(id);
    for (let i = 0; i < 600 && !(seen.status === 'running' && seen.rowsIn >= 4_000); i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await job(id);
    }
    assert.ok(seen.status === 'running' && seen.rowsIn < n, `job at the crash: ${seen.status} ${seen.rowsIn}`);
    await Promise.all([...procs.map((p) => p.kill('SIGKILL')), redis.stop('SIGKILL')]);
    procs.length = 0;

    await redis.start();
    await startApi();
    // The crash landed mid-job: with no worker yet, the job is not done (the row says what was committed).
    const atRestart = await job(id);
    assert.notEqual(atRestart.status, 'succeeded', 'the job had finished before the kill: nothing was tested');
    // Before any worker (whose reconciler would re-arm a lost scheduler): Redis itself kept these.
    const after = await entity();
    assert.equal(after.status, 200, `the prediction store after the crash: ${after.text}`);
    assert.deepEqual(after.json, before.json);
    const list = (await http(base, 'GET', '/v1/schedules', { token })).json as {
      id: string;
      nextRunAt: string | null;
    }[];
    assert.ok(list.find((s) => s.id === schedule.json.id)?.nextRunAt, 'the schedule is still armed');
    startWorker();
    const done = await finished(id);
    assert.equal(done.status, 'succeeded', `${done.status} ${done.error ?? ''}`);
    assert.deepEqual([done.rowsIn, done.rowsOut, done.rowsFailed], [n, n, 0]);
    const out = await fetch(`${base}/v1/jobs/${id}/files/output`, { headers: { authorization: `Bearer ${token}` } });
    const ids = (await out.text())
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.slice(0, l.indexOf(',')));
    assert.equal(ids.length, n);
    assert.equal(new Set(ids).size, n, 'every input row exactly once');
  });
});
