// The batch part of `npm run bench` (issue 10): a 1,000,000-row CSV scored by a Modelyard batch job end to end
// (submit -> output file in storage), beside the pandas + pickled pipeline script a data scientist would run,
// and the raw in-process ceiling (one onnxruntime session on 10,000-row batches).
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';

const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 1_000_000);

/** A deterministic CSV of `rows` rows: an id column, then the features (values around the fixture's own rows). */
export async function writeCsv(file, columns, sampleRows, rows) {
  const out = createWriteStream(file);
  out.write(`id,${columns.join(',')}\n`);
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const r = sampleRows[i % sampleRows.length];
    buf += `r${i},${r.map((v) => (v + ((i * 7919) % 13) / 100).toFixed(2)).join(',')}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

/** Rows/s of one session on 10,000-row batches of the same values: what the engine alone can do. */
export async function rawCeiling(root, modelFile, width) {
  const { createRequire } = await import('node:module');
  const ort = createRequire(path.join(root, 'package.json'))('onnxruntime-node');
  const session = await ort.InferenceSession.create(modelFile, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const n = 10_000;
  const data = new Float32Array(n * width).map((_, i) => (i % 97) / 10);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [n, width]) };
  await session.run(feeds);
  const t = performance.now();
  let rows = 0;
  while (rows < ROWS) {
    await session.run(feeds);
    rows += n;
  }
  const s = (performance.now() - t) / 1000;
  await session.release();
  return rows / s;
}

/** Submits a batch job on a file already in local storage and waits for it; seconds from submit to done. */
export async function timeJob(api, token, model, file) {
  const t = performance.now();
  const res = await fetch(`${api}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, inputUri: pathToFileURL(file).href }),
  });
  const job = await res.json();
  if (res.status !== 202) throw new Error(`batch job refused: ${JSON.stringify(job)}`);
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const j = await (await fetch(`${api}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${token}` } })).json();
    if (j.status === 'succeeded')
      return {
        seconds: (performance.now() - t) / 1000,
        rows: j.rowsOut,
        outputBytes: statSync(new URL(j.outputUri)).size,
      };
    if (j.status !== 'queued' && j.status !== 'running') throw new Error(`batch job ${j.status}: ${j.error}`);
  }
}

/** A batch job fills the prediction store; then lookups by entity id, timed by the server (Server-Timing) and the client. */
export async function storeLookups(root, api, token, model, dir, n = 2000) {
  const file = path.join(dir, 'store-input.csv');
  const s = JSON.parse(
    (await import('node:fs')).readFileSync(path.join(root, '../shared/models/iris_logreg/samples.json'), 'utf8'),
  );
  await writeCsv(file, s.inputs[0].columns, s.input_data[s.inputs[0].name], 10_000);
  const res = await fetch(`${api}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      inputUri: pathToFileURL(file).href,
      output: { columns: 'id', idColumn: 'id' },
      store: { entityColumn: 'id' },
    }),
  });
  const job = await res.json();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const j = await (await fetch(`${api}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${token}` } })).json();
    if (j.status === 'succeeded') break;
    if (j.status !== 'queued' && j.status !== 'running') throw new Error(`store job ${j.status}: ${j.error}`);
  }
  const server = [];
  const client = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch(`${api}/v1/models/${model}/predictions/r${(i * 7) % 10_000}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await r.arrayBuffer();
    client.push(performance.now() - t);
    server.push(Number(/dur=([\d.]+)/.exec(r.headers.get('server-timing') ?? '')?.[1]));
  }
  const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
  return {
    n,
    serverP50: q(server, 0.5),
    serverP99: q(server, 0.99),
    clientP50: q(client, 0.5),
    clientP99: q(client, 0.99),
  };
}

/** The whole batch benchmark; returns markdown lines. */
export async function batchBench({ root, api, token, storageRoot, models, peers, log }) {
  const dir = path.join(storageRoot, 'bench-inputs');
  mkdirSync(dir, { recursive: true });
  const lines = [];
  const results = [];
  for (const { model, fixture, samples } of models) {
    const cols = samples.inputs[0].columns;
    const sampleRows = samples.input_data[samples.inputs[0].name];
    const file = path.join(dir, `${fixture}-${ROWS}.csv`);
    await writeCsv(file, cols, sampleRows, ROWS);
    const size = statSync(file).size;
    const job = await timeJob(api, token, model, file);
    log(`batch ${fixture}: ${job.rows} rows in ${job.seconds.toFixed(2)} s`);
    const ceiling = await rawCeiling(root, path.join(root, '../shared/models', fixture, 'model.onnx'), cols.length);
    let pandas = null;
    if (fixture === 'iris_logreg') {
      const r = spawnSync(
        '/usr/bin/python3',
        [
          path.join(root, 'bench/batch_pandas.py'),
          path.join(peers, 'iris_logreg_pipeline.pkl'),
          file,
          path.join(dir, 'pandas-out.csv'),
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`pandas script failed: ${r.stderr}`);
      pandas = JSON.parse(r.stdout.trim().split('\n').pop());
      log(`pandas ${fixture}: ${pandas.total.toFixed(2)} s`);
    }
    results.push({ fixture, features: cols.length, size, job, ceiling, pandas });
  }
  lines.push(
    `## Batch scoring: ${ROWS.toLocaleString('en')}-row CSV (issue 10)`,
    '',
    'Modelyard: `POST /v1/jobs` on a file already in local storage, timed from submit to `succeeded` (split into 50,000-row chunk jobs scored WORKER_CONCURRENCY=2 at a time, part files, ' +
      "output assembled beside the input with the input columns + prediction + probabilities). pandas: `read_csv` -> the pickled pipeline's " +
      '`predict_proba` -> `to_csv` of the same columns (Debian python3-pandas 1.5, scikit-learn 1.2; only the iris pipeline is pickled). ' +
      'Ceiling: one onnxruntime-node session on 10,000-row float32 batches in process, no parsing or writing.',
    '',
    '| model | features | input MB | Modelyard job s | Modelyard rows/s | pandas script s | pandas rows/s | Modelyard vs pandas | in-process ceiling rows/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of results) {
    const rps = r.job.rows / r.job.seconds;
    lines.push(
      `| ${r.fixture} | ${r.features} | ${(r.size / 2 ** 20).toFixed(0)} | ${r.job.seconds.toFixed(2)} | ${rps.toFixed(0)} | ` +
        `${r.pandas ? r.pandas.total.toFixed(2) : 'n/a'} | ${r.pandas ? (r.pandas.rows / r.pandas.total).toFixed(0) : 'n/a'} | ` +
        `${r.pandas ? `${(r.pandas.total / r.job.seconds).toFixed(2)}x` : 'n/a'} | ${r.ceiling.toFixed(0)} |`,
    );
  }
  const store = await storeLookups(root, api, token, models[0].model, dir);
  log(`prediction store: server p50 ${store.serverP50.toFixed(3)} ms`);
  lines.push(
    '',
    `### Prediction store lookups (${store.n.toLocaleString('en')} sequential GET /v1/models/iris/predictions/{id} after a batch job stored 10,000 entities)`,
    '',
    '| | p50 ms | p99 ms |',
    '|---|---:|---:|',
    `| server (Server-Timing: the Redis lookup) | ${store.serverP50.toFixed(3)} | ${store.serverP99.toFixed(3)} |`,
    `| client (whole HTTP request on loopback, auth included) | ${store.clientP50.toFixed(3)} | ${store.clientP99.toFixed(3)} |`,
  );
  const iris = results.find((r) => r.pandas);
  if (iris)
    lines.push(
      '',
      `pandas split: read ${iris.pandas.read.toFixed(2)} s, score ${iris.pandas.score.toFixed(2)} s, write ${iris.pandas.write.toFixed(2)} s. Target: the Modelyard job at least as fast as the pandas script end to end: ${iris.pandas.total >= iris.job.seconds ? 'met' : 'not met'}.`,
    );
  lines.push('');
  return lines;
}
