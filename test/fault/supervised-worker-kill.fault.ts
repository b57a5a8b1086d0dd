import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();
const token = env.adminApiKey;

interface Supervised {
  readonly child: import('node:child_process').ChildProcess;
  readonly restarts: number;
  stop(timeoutMs?: number): Promise<void>;
}
type Launch = (
  name: string,
  args: string[],
  opts: { env?: Record<string, string>; quiet?: boolean; restart?: boolean },
) => Supervised;
const { launch } = (await import(pathToFileURL(path.resolve('scripts/platform.mjs')).href)) as { launch: Launch };

/**
 * `kill -9` of the worker in the middle of a 2,000,000-row batch job, with the worker run by the supervisor `npm
 * start` uses: the supervisor starts it again, the job completes with exactly one output row per input row, and
 * the api answered predictions throughout.
 */
describe('the supervised worker SIGKILLed mid 2M-row job', () => {
  const prefix = uniqueId('supervised');
  const own = {
    REDIS_PREFIX: prefix,
    BATCH_CHUNK_ROWS: '50000',
    WORKER_LOCK_MS: '2000',
    WORKER_METRICS_PORT: '0',
    API_PROCESSES: '1',
    LOG_LEVEL: 'warn',
    LOG_FILE: '',
  };
  let api: AppProcess;
  let worker: Supervised;
  let base = '';
  let model = '';

  before(async () => {
    model = (await registerFixture(env.apiUrl, token, 'iris_logreg')).model;
    const port = await freePort();
    api = startApp('api-supervised', 'api', {
      ...own,
      API_PORT: String(port),
      RATE_LIMIT_RPS: '100000',
      RATE_LIMIT_BURST: '100000',
    });
    base = `http://127.0.0.1:${port}`;
    await waitReady(`${base}/readyz`, api);
    worker = launch('worker', [process.execPath, 'apps/worker/dist/main.js'], { env: own, quiet: true, restart: true });
  });
  after(async () => {
    await worker.stop();
    await api.kill('SIGKILL');
  });

  it('is restarted by the supervisor and the job completes with every row exactly once', async () => {
    const n = 2_000_000;
    const features = samples('iris_logreg').feature_names;
    const rows = records(samples('iris_logreg')).map((r) => features.map((f) => r[f]).join(','));
    const dir = path.join(process.env.E2E_STORAGE_LOCAL_ROOT!, 'supervised', uniqueId('in'));
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'big.csv');
    const lines = [`id,${features.join(',')}`];
    for (let i = 0; i < n; i++) lines.push(`r${i},${rows[i % rows.length]}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    lines.length = 0;

    const submitted = await http(base, 'POST', '/v1/jobs', {
      token,
      body: { model, inputUri: pathToFileURL(file).href, output: { columns: 'id', idColumn: 'id' } },
    });
    assert.equal(submitted.status, 202, submitted.text);
    const readJob = async () => (await http(base, 'GET', `/v1/jobs/${submitted.json.id}`, { token })).json;

    // Predictions while all this happens: the api must answer every one.
    const body = { payload: [records(samples('iris_logreg'))[0]] };
    const statuses: number[] = [];
    let predicting = true;
    const predictions = (async () => {
      while (predicting) {
        statuses.push((await http(base, 'POST', `/v1/models/${model}/predict`, { token, body })).status);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    let seen = await readJob();
    for (let i = 0; i < 1200 && !(seen.status === 'running' && seen.rowsIn >= 100_000); i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await readJob();
    }
    assert.ok(seen.status === 'running' && seen.rowsIn < n, `job at the kill: ${seen.status} ${seen.rowsIn}`);
    const first = worker.child.pid;
    worker.child.kill('SIGKILL');
    for (let i = 0; i < 200 && !(worker.restarts === 1 && worker.child.pid !== first); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(worker.restarts, 1, 'the supervisor started the worker again');
    assert.notEqual(worker.child.pid, first);

    let done = seen;
    for (let i = 0; i < 2400 && ['queued', 'running'].includes(done.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = await readJob();
    }
    predicting = false;
    await predictions;
    assert.equal(done.status, 'succeeded', `${done.status} ${done.error ?? ''}`);
    assert.deepEqual([done.rowsIn, done.rowsOut, done.rowsFailed], [n, n, 0]);
    const out = new URL(done.outputUri).pathname;
    const ids = new Set<string>();
    let count = 0;
    for await (const line of readline.createInterface({ input: createReadStream(out) })) {
      if (count++ === 0) continue;
      ids.add(line.slice(0, line.indexOf(',')));
    }
    assert.equal(count - 1, n, 'output rows');
    assert.equal(ids.size, n, 'every input row exactly once');
    console.log(
      `supervised kill: worker restarted once; ${n} rows out; ${statuses.length} predictions meanwhile, ${statuses.filter((s) => s !== 200).length} not 200`,
    );
    assert.deepEqual([...new Set(statuses)], [200], 'the api answered throughout');
  });
});
