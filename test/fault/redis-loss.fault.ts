import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { FIXTURES_DIR, irisCsv, registerFixture, submitBatchJob } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();
const token = env.adminApiKey;

/** Everything under a Redis prefix, gone: what a Redis restart without persistence does to an install. */
async function wipeRedisPrefix(prefix: string): Promise<number> {
  const redis = new Redis(process.env.REDIS_URL!);
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Postgres is the source of truth for work. A worker is SIGKILLed in the middle of a batch job and Redis then
 * loses everything (queues, job schedulers) while a version waits for validation: a new worker's reconciler
 * puts the job, the validation and the schedule's scheduler back from Postgres, and the job completes with
 * exactly one output row per input row. These processes use a Redis prefix of their own, so only they are hit.
 */
describe('a worker killed mid-job, then Redis loses its data', () => {
  const procs: AppProcess[] = [];
  const prefix = uniqueId('fault');
  const common = {
    REDIS_PREFIX: prefix,
    BATCH_CHUNK_ROWS: '1000',
    WORKER_LOCK_MS: '2000',
    WORKER_CONCURRENCY: '1',
    RECONCILE_SECONDS: '1',
  };
  let api = '';
  let model = '';

  before(async () => {
    model = (await registerFixture(env.apiUrl, token, 'iris_logreg')).model;
    const port = await freePort();
    const a = startApp('api-fault', 'api', { ...common, API_PORT: String(port) });
    procs.push(a);
    api = `http://127.0.0.1:${port}`;
    await waitReady(`${api}/readyz`, a);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  });

  it('completes the job exactly, validates the pending version and re-arms the schedule from Postgres', async () => {
    const dir = path.join(process.env.E2E_STORAGE_LOCAL_ROOT!, 'fault', uniqueId('s'));
    mkdirSync(dir, { recursive: true });
    const schedule = await http(api, 'POST', '/v1/schedules', {
      token,
      body: { name: 'nightly', model, cron: '0 3 * * *', inputPrefix: `${pathToFileURL(dir).href}/` },
    });
    assert.equal(schedule.status, 201, schedule.text);
    assert.ok(schedule.json.nextRunAt, 'the schedule is armed');

    const w1 = startApp('worker-fault-1', 'worker', common);
    procs.push(w1);
    const n = 100_000;
    const job = {
      id: await submitBatchJob(api, token, { model, output: { columns: 'id', idColumn: 'id' } }, irisCsv(n), 'big.csv'),
    };
    const readJob = async () => (await http(api, 'GET', `/v1/jobs/${job.id}`, { token })).json;
    await until('some chunks scored', readJob, (j) => j.status === 'running' && j.rowsIn >= 3000, 60_000);
    await w1.kill('SIGKILL');
    const atKill = await readJob();
    assert.equal(atKill.status, 'running');
    assert.ok(atKill.rowsIn < n, `rows at kill: ${atKill.rowsIn}`);

    // With no worker alive, a new version waits for validation.
    const vform = new FormData();
    vform.append('spec', JSON.stringify({}));
    vform.append('file', new Blob([readFileSync(path.join(FIXTURES_DIR, 'iris_logreg', 'model.onnx'))]), 'model.onnx');
    const reg = await fetch(`${api}/v1/models/${model}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: vform,
    });
    const version = (await reg.json()) as { version: number; status: string };
    assert.equal(reg.status, 202, JSON.stringify(version));

    assert.ok((await wipeRedisPrefix(prefix)) > 0, 'the install had keys to lose');
    const lost = await http(api, 'GET', '/v1/schedules', { token });
    assert.equal(
      lost.json.find((s: { id: string }) => s.id === schedule.json.id).nextRunAt,
      null,
      'the wipe took the scheduler',
    );

    const w2 = startApp('worker-fault-2', 'worker', common);
    procs.push(w2);
    const done = await until('the job to finish', readJob, (j) => !['queued', 'running'].includes(j.status));
    assert.equal(done.status, 'succeeded', `${done.status} ${done.error ?? ''}\n${w2.tail()}`);
    assert.deepEqual([done.rowsIn, done.rowsOut, done.rowsFailed], [n, n, 0]);
    const out = await fetch(`${api}/v1/jobs/${job.id}/files/output`, { headers: { authorization: `Bearer ${token}` } });
    const ids = (await out.text())
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.slice(0, l.indexOf(',')));
    assert.equal(ids.length, n);
    assert.equal(new Set(ids).size, n, 'every input row exactly once');

    const v = await until(
      'the version to be validated',
      async () => (await http(api, 'GET', `/v1/models/${model}/versions/${version.version}`, { token })).json,
      (x) => x.status !== 'pending',
    );
    assert.equal(v.status, 'ready', v.failureReason);
    const rearmed = await until(
      'the scheduler to come back',
      async () => (await http(api, 'GET', '/v1/schedules', { token })).json,
      (list) => Boolean(list.find((s: { id: string }) => s.id === schedule.json.id)?.nextRunAt),
    );
    assert.ok(rearmed);
    // The path taken was the reconciler's (a wiped queue has nothing a stalled-job check could hand back).
    assert.match(w2.output(), /reconciler put back work the queue had lost/);
  });
});
