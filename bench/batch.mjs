// The batch part of `npm run bench` (issue 10): a 1,000,000-row CSV scored by a Modelyard batch job end to end
// (submit -> output file in storage), beside the pandas + pickled pipeline script a data scientist would run,
// and the raw in-process ceiling (one onnxruntime session on 10,000-row batches).
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';

const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 1_000_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const FIXTURES = (process.env.BENCH_BATCH_FIXTURES ?? 'iris_logreg,digits_mlp').split(',');
// While iterating: the variants to leave out (upload, pandas, store), e.g. BENCH_BATCH_SKIP=upload,pandas,store.
const SKIP = new Set((process.env.BENCH_BATCH_SKIP ?? '').split(',').filter(Boolean));

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

/**
 * Submits a batch job and waits for it (polled every 20 ms); seconds from submit to done. With `upload` the file
 * is sent in the request (multipart) instead of named by its URI, so the time includes the upload.
 */
export async function timeJob(api, token, model, file, { upload = false, output } = {}) {
  const t = performance.now();
  const spec = { model, ...(output && { output }), ...(!upload && { inputUri: pathToFileURL(file).href }) };
  // On a connection of its own: writing the input took longer than the api's keep-alive timeout (5 s), and a
  // pooled connection the api is closing just then fails the request before it is sent ("fetch failed").
  const headers = { authorization: `Bearer ${token}`, connection: 'close' };
  let res;
  if (upload) {
    const form = new FormData();
    form.append('spec', JSON.stringify(spec));
    form.append('file', new Blob([readFileSync(file)]), path.basename(file));
    res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers, body: form });
  } else {
    const post = () =>
      fetch(`${api}/v1/jobs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(spec),
      });
    // Once more when the connection was closed under it (a pooled one the api dropped after its keep-alive time
    // while the input files were being written): nothing reached the api.
    res = await post().catch((e) => {
      if (e.cause?.code !== 'UND_ERR_SOCKET') throw e;
      return post();
    });
  }
  const job = await res.json();
  if (res.status !== 202) throw new Error(`batch job refused: ${JSON.stringify(job)}`);
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const j = await (await fetch(`${api}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${token}` } })).json();
    if (j.status === 'succeeded')
      return {
        seconds: (performance.now() - t) / 1000,
        server: (Date.parse(j.finishedAt) - Date.parse(j.submittedAt)) / 1000,
        rows: j.rowsOut,
        outputBytes: statSync(new URL(j.outputUri)).size,
      };
    if (j.status !== 'queued' && j.status !== 'running') throw new Error(`batch job ${j.status}: ${j.error}`);
  }
}

/** The same rows as a Parquet file (id as text, features as float32), written with hyparquet-writer. */
export async function writeParquet(root, csvFile, file, columns) {
  const { parquetWriteBuffer } = await import(path.join(root, 'node_modules/hyparquet-writer/src/index.js'));
  const lines = readFileSync(csvFile, 'utf8').trimEnd().split('\n').slice(1);
  const ids = new Array(lines.length);
  const feats = columns.map(() => new Float32Array(lines.length));
  lines.forEach((l, i) => {
    const cells = l.split(',');
    ids[i] = cells[0];
    for (let c = 0; c < columns.length; c++) feats[c][i] = +cells[c + 1];
  });
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: ids, type: 'STRING', nullable: false },
      ...columns.map((name, c) => ({ name, data: feats[c], type: 'FLOAT', nullable: false })),
    ],
    rowGroupSize: 250_000,
  });
  writeFileSync(file, new Uint8Array(buf));
}

/** The polars + onnxruntime peer (../shared/peers/batch_polars.py) on the same file; null when it cannot run. */
export function polarsRun(python, peers, input, output) {
  const r = spawnSync(python, [path.join(peers, 'batch_polars.py'), input, output], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** A batch job fills the prediction store; then lookups by entity id, timed by the server (Server-Timing) and the client. */
export async function storeLookups(peers, api, token, model, dir, n = 2000) {
  const file = path.join(dir, 'store-input.csv');
  const s = JSON.parse(
    (await import('node:fs')).readFileSync(path.join(peers, '../models/iris_logreg/samples.json'), 'utf8'),
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
export async function batchBench({ root, api, token, storageRoot, models, peers, polarsPython, log }) {
  const dir = path.join(storageRoot, 'bench-inputs');
  mkdirSync(dir, { recursive: true });
  const lines = [];
  const results = [];
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const { model, fixture, samples } of models.filter((m) => FIXTURES.includes(m.fixture))) {
    const cols = samples.inputs[0].columns;
    const sampleRows = samples.input_data[samples.inputs[0].name];
    const file = path.join(dir, `${fixture}-${ROWS}.csv`);
    await writeCsv(file, cols, sampleRows, ROWS);
    const size = statSync(file).size;
    const iris = fixture === 'iris_logreg';
    const pq = path.join(dir, `${fixture}-${ROWS}.parquet`);
    if (iris) await writeParquet(root, file, pq, cols);
    // One job of each kind first, not timed (as the serving part warms up before measuring): the worker starts its
    // scoring threads and opens the model in them with its first batch job, and allocates the buffers it keeps for
    // the next ones; the polars script's time leaves out its process start and its session's creation.
    await timeJob(api, token, model, file);
    if (iris) await timeJob(api, token, model, pq);
    // Interleaved repetitions: every variant once per round, so a busy moment hits all of them alike.
    const reps = [];
    for (let rep = 1; rep <= (iris ? REPS : 1); rep++) {
      const r = { rep };
      r.csv = await timeJob(api, token, model, file);
      log(`batch ${fixture} rep ${rep}: csv job ${r.csv.seconds.toFixed(2)} s`);
      if (iris) {
        if (!SKIP.has('upload')) r.upload = await timeJob(api, token, model, file, { upload: true });
        r.polars = polarsRun(polarsPython, peers, file, path.join(dir, 'polars-out.csv'));
        r.parquet = await timeJob(api, token, model, pq);
        if (!SKIP.has('upload')) r.parquetUpload = await timeJob(api, token, model, pq, { upload: true });
        log(
          `batch ${fixture} rep ${rep}: upload ${r.upload?.seconds.toFixed(2)} s, polars ${r.polars.total_s ?? r.polars.error}, ` +
            `parquet ${r.parquet.seconds.toFixed(2)} s`,
        );
      }
      reps.push(r);
    }
    const ceiling = await rawCeiling(root, path.join(peers, '../models', fixture, 'model.onnx'), cols.length);
    let pandas = null;
    if (iris && !SKIP.has('pandas')) {
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
    results.push({
      fixture,
      features: cols.length,
      size,
      parquetSize: iris ? statSync(pq).size : 0,
      reps,
      ceiling,
      pandas,
    });
  }
  const s2 = (x) => (x === undefined || x === null ? 'n/a' : Number(x).toFixed(2));
  lines.push(
    `## Batch scoring: ${ROWS.toLocaleString('en')} rows (issue 23)`,
    '',
    'Modelyard: `POST /v1/jobs`, timed by the client from the request to the poll (every 20 ms) that sees `succeeded` ' +
      '(the output file is then in storage); "server" is the job row\'s finishedAt - submittedAt. "csv": the file ' +
      'named by its file:// URI in local storage; "csv upload": sent in the request (multipart), so the upload is ' +
      'included; "parquet": the same rows as Parquet (id text, float32 features) in and Parquet out. Output: the ' +
      'input columns + prediction + one probability per class. One worker holds the file (BATCH_INLINE_MAX_BYTES) ' +
      'and scores it in BATCH_CHUNK_ROWS=250,000-row chunks. polars: `../shared/peers/batch_polars.py` (read_csv, ' +
      'onnxruntime in 100k-row chunks, write_csv) on the same CSV, its own total_s (process start and session ' +
      'creation not counted). Before the repetitions, one CSV and one Parquet job of the same files (not timed) warm ' +
      'the worker up: its scoring threads start and open the model, and it allocates the buffers it keeps for the ' +
      'next jobs. Repetitions are interleaved.',
    '',
  );
  for (const r of results) {
    lines.push(
      `### ${r.fixture} (${r.features} features, CSV ${(r.size / 2 ** 20).toFixed(0)} MB${r.parquetSize ? `, Parquet ${(r.parquetSize / 2 ** 20).toFixed(0)} MB` : ''})`,
      '',
    );
    lines.push(
      '| rep | csv job s (server) | csv upload job s (server) | polars script s (read/score/write) | parquet job s (server) | parquet upload job s | csv vs polars |',
      '|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const x of r.reps) {
      const pol = x.polars?.total_s;
      lines.push(
        `| ${x.rep} | ${s2(x.csv.seconds)} (${s2(x.csv.server)}) | ${x.upload ? `${s2(x.upload.seconds)} (${s2(x.upload.server)})` : 'n/a'} | ` +
          `${pol !== undefined ? `${s2(pol)} (${s2(x.polars.read_s)}/${s2(x.polars.score_s)}/${s2(x.polars.write_s)})` : x.polars ? `failed: ${x.polars.error}` : 'n/a'} | ` +
          `${x.parquet ? `${s2(x.parquet.seconds)} (${s2(x.parquet.server)})` : 'n/a'} | ${x.parquetUpload ? s2(x.parquetUpload.seconds) : 'n/a'} | ` +
          `${pol !== undefined ? `${(pol / x.csv.seconds).toFixed(2)}x` : 'n/a'} |`,
      );
    }
    const csvMed = med(r.reps.map((x) => x.csv.seconds));
    lines.push(
      '',
      `Median csv job ${s2(csvMed)} s (${(ROWS / csvMed).toFixed(0)} rows/s)` +
        (r.reps[0].polars?.total_s !== undefined ? `, polars ${s2(med(r.reps.map((x) => x.polars.total_s)))} s` : '') +
        (r.reps[0].parquet ? `, parquet ${s2(med(r.reps.map((x) => x.parquet.seconds)))} s` : '') +
        `; in-process ceiling (one onnxruntime session, 10,000-row float32 batches, no parsing) ${r.ceiling.toFixed(0)} rows/s` +
        (r.pandas
          ? `; pandas script ${r.pandas.total.toFixed(2)} s (read ${r.pandas.read.toFixed(2)}, score ${r.pandas.score.toFixed(2)}, write ${r.pandas.write.toFixed(2)})`
          : '') +
        '.',
      '',
    );
  }
  if (SKIP.has('store')) return lines;
  const store = await storeLookups(peers, api, token, models[0].model, dir);
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
  lines.push('');
  return lines;
}
