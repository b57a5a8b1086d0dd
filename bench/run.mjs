// `npm run bench`: Modelyard (auth, metrics, info logging, 1% prediction-log sampling and rate limiting on)
// side by side with the three peers in ../shared/peers (Flask+gunicorn, FastAPI+uvicorn+onnxruntime, bare
// node:http+onnxruntime with as many processes as Modelyard's api: API_PROCESSES, 1 here), same model and
// bodies, wrk on loopback, c = 1, 8, 32, 1-row and 100-row bodies, interleaved repetitions, medians and p99 per
// repetition. Writes bench/results/<date>.md. Speed is measured here, never asserted in tests.
// Also: batch scoring of a 1,000,000-row CSV against a pandas script (bench/batch.mjs) -> <date>-batch.md, and a
// drift report over 1,000,000 rows x 64 features (bench/drift-bench.mjs) -> <date>-drift.md, and 1,000 registered
// models: the list endpoints, the dashboard's overview in Chromium and the api's memory (bench/models.mjs, on a
// platform of its own) -> <date>-models.md, and per-row explanation times (bench/explain-bench.mjs) -> <date>-explain.md. And records/s through a stream deployment beside the batch job's
// rows/s, with the end-to-end latency at a steady 1,000 records/s (bench/streams.mjs) -> <date>-streams.md.
//   npm run bench [-- serving batch drift models explain streams]     the parts to run (default: all)
//   BENCH_SECONDS (5) BENCH_REPS (3) BENCH_BATCH_ROWS (1000000) BENCH_MODELS (1000) BENCH_LOADED (50)
//   BENCH_BATCH_SKIP (none; upload,pandas,store leave those batch variants out while iterating)
//   BENCH_STREAM_RECORDS (200000) BENCH_STREAM_RATE (1000) BENCH_STREAM_SECONDS (20)
//   BENCH_MODELS_DIR (../shared/models): where the fixture models are (test/fixtures/models has them too)
//   BENCH_BASELINE=<dir>: a built checkout of an earlier commit (`git worktree add <dir> <rev>` then
//     `node <dir>/scripts/bootstrap.mjs build`); its api is launched beside this one, on the same database,
//     Redis and models, and measured in the same interleaved serving runs as `baseline`, so a change's cost is
//     read within one run instead of across days.
//   BENCH_LABEL=<word>: writes <date>-<word>.md instead of <date>.md.
//   API_PROCESSES (1): Modelyard's api processes, and the bare peer's (node:cluster), so "every core" is compared
//     like for like. BENCH_FASTAPI_VENV (bench/tmp/fastapi-venv): a Python 3.11 venv for the FastAPI peer, created
//     from the local package index when missing; BENCH_FASTAPI=0 leaves that peer out. BENCH_POLARS_PYTHON: a Python
//     with polars, onnxruntime and numpy for the batch part's polars script (default: bench/tmp/polars-venv, created
//     the same way).
//   BENCH_API_NODE_ARGS: node flags for the api processes only (this one and the baseline), for diagnosis, after
//     the ones every api is launched with (scripts/platform.mjs API_NODE_FLAGS; the baseline gets only these),
//     space-separated, e.g. '--cpu-prof --cpu-prof-dir=bench/tmp/prof --trace-gc'. BENCH_BASELINE_NODE_ARGS: the
//     baseline's instead (default: the same), so one build can be measured against itself with a different flag.
//     Each api's /metrics (event-loop delay histogram, GC durations, SERVING_STAGE_TIMERS' stages when that is set)
//     is saved to bench/tmp/metrics-<server>.txt at the end. BENCH_WORKER_NODE_ARGS: node flags for the worker,
//     the same way (batch and streams parts).
//   BENCH_VARIANTS (traced,silent): Modelyard variants measured in the same interleaved serving runs, each read
//     against the plain api cell by cell: `traced` is a second api of this build with OpenTelemetry on at 1 %
//     sampling (parentbased_traceidratio 0.01), exporting to a local OTLP receiver (issue 20); `silent` is the
//     plain api on a model whose deployment copies every request to a slow silent version (test/fixtures/
//     slow_iris.onnx, ~30 ms of CPU per call; issue 9's caps keep it off production's path). Empty: none.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootstrap, buildWeb, log, root } from '../scripts/bootstrap.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
// The workspace's shared folder beside the checkout; BENCH_SHARED names it for a checkout elsewhere (a worktree).
const SHARED = process.env.BENCH_SHARED ? path.resolve(process.env.BENCH_SHARED) : path.resolve(root, '../shared');
const PEERS = path.join(SHARED, 'peers');
const MODELS = process.env.BENCH_MODELS_DIR
  ? path.resolve(root, process.env.BENCH_MODELS_DIR)
  : path.join(SHARED, 'models');
const tmp = path.join(root, 'bench', 'tmp');
const PARTS = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['serving', 'batch', 'drift', 'models', 'explain', 'streams'];
const day = new Date().toISOString().slice(0, 10);
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : null;
const REPORT = `${day}${process.env.BENCH_LABEL ? `-${process.env.BENCH_LABEL}` : ''}`;
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'traced,silent').split(',').filter(Boolean);
const API_PROCESSES = process.env.API_PROCESSES ?? '1';
const API_NODE_ARGS = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
const WORKER_NODE_ARGS = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const BASELINE_NODE_ARGS = (process.env.BENCH_BASELINE_NODE_ARGS ?? process.env.BENCH_API_NODE_ARGS ?? '')
  .split(' ')
  .filter(Boolean);
const FASTAPI = process.env.BENCH_FASTAPI !== '0';
const FASTAPI_VENV = path.resolve(root, process.env.BENCH_FASTAPI_VENV ?? 'bench/tmp/fastapi-venv');
const POLARS_VENV = path.resolve(root, 'bench/tmp/polars-venv');
for (const v of VARIANTS) if (!['traced', 'silent'].includes(v)) throw new Error(`unknown BENCH_VARIANTS entry "${v}"`);

function aptEnsure(bin, pkgs) {
  if (spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0) return;
  aptInstall(pkgs);
}

function aptInstall(pkgs) {
  log(`installing ${pkgs.join(' ')} (Debian) for the benchmark`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: 'inherit',
    env,
  });
  if (r.status !== 0) throw new Error(`could not install ${pkgs.join(' ')}`);
}

function wrk(url, bodies, conns, token, seconds = SECONDS) {
  const r = spawnSync(
    'wrk',
    [
      `-t${Math.min(2, conns)}`,
      `-c${conns}`,
      `-d${seconds}s`,
      '--latency',
      '-s',
      path.join(root, 'bench', 'wrk_post.lua'),
      url,
    ],
    {
      env: { ...process.env, WRK_BODIES: bodies, WRK_TOKEN: token ?? '' },
      encoding: 'utf8',
    },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk gave no result for ${url}:\n${r.stdout}\n${r.stderr}`);
  const j = JSON.parse(line.slice(8));
  const errors = j.errors_connect + j.errors_read + j.errors_write + j.errors_status + j.errors_timeout;
  return {
    rps: j.requests / (j.duration_us / 1e6),
    p50: j.lat_p50_us / 1000,
    p99: j.lat_p99_us / 1000,
    errors,
    requests: j.requests,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function main() {
  bootstrap({ web: false });
  if (PARTS.includes('drift')) driftPart();
  if (PARTS.includes('models')) await modelsPart();
  if (PARTS.includes('explain')) explainPart();
  if (!PARTS.includes('serving') && !PARTS.includes('batch') && !PARTS.includes('streams')) return;
  mkdirSync(tmp, { recursive: true });
  if (PARTS.includes('serving') || PARTS.includes('batch')) {
    aptEnsure('wrk', ['wrk']);
    aptEnsure('gunicorn', ['gunicorn', 'python3-flask', 'python3-sklearn']);
    if (PARTS.includes('batch') && spawnSync('/usr/bin/python3', ['-c', 'import pandas']).status !== 0)
      aptInstall(['python3-pandas']);
    spawnSync(process.execPath, [path.join(PEERS, 'make_bodies.js'), tmp, '100', '8'], { stdio: 'inherit' });
  }
  // digits bodies (64 features), 1 row each, from the fixture's own rows.
  const ds = JSON.parse(readFileSync(path.join(MODELS, 'digits_mlp/samples.json'), 'utf8'));
  const cols = ds.inputs[0].columns;
  writeFileSync(
    path.join(tmp, 'digits_1row.jsonl'),
    ds.input_data[ds.inputs[0].name]
      .map((r) => JSON.stringify({ payload: [Object.fromEntries(cols.map((c, i) => [c, r[i]]))] }))
      .join('\n') + '\n',
  );

  const { provision, seed, launch, waitForHttp, API_NODE_FLAGS } = await import('../scripts/platform.mjs');
  const { freePort } = await import('../scripts/services.mjs');
  const platform = await provision({ mode: 'bench' });
  const adminKey = `bench-admin-${Date.now()}-${'b'.repeat(24)}`;
  seed({ ...platform.env, MODELYARD_ADMIN_API_KEY: adminKey });
  const apiPort = await freePort();
  const env = {
    ...platform.env,
    API_PORT: String(apiPort),
    LOG_LEVEL: 'info',
    LOG_FILE: path.join(tmp, 'api.log'),
    PREDICTION_LOG_SAMPLE_RATE: '0.01',
    RATE_LIMIT_RPS: '1000000',
    RATE_LIMIT_BURST: '1000000',
    STORAGE_LOCAL_ROOT: path.join(tmp, 'artifacts'),
    MAX_ROWS_PER_REQUEST: '10000',
    // Its own port: the default (9464) is taken whenever another worker runs on the box, and this one would exit.
    WORKER_METRICS_PORT: String(await freePort().then((p) => (p === apiPort ? freePort() : p))),
    // One api process by default, as the bare peer then runs one (it always runs API_PROCESSES: like for like).
    API_PROCESSES,
  };
  const procs = [];
  let stopReceiver = async () => {};
  const stopAll = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await stopReceiver();
    await platform.stop();
  };
  try {
    procs.push(
      launch('api', [process.execPath, ...API_NODE_FLAGS, ...API_NODE_ARGS, 'apps/api/dist/main.js'], {
        env,
        quiet: true,
      }),
    );
    procs.push(
      launch('worker', [process.execPath, ...WORKER_NODE_ARGS, 'apps/worker/dist/main.js'], { env, quiet: true }),
    );
    await waitForHttp(`http://127.0.0.1:${apiPort}/readyz`, { proc: procs[0] });
    const api = `http://127.0.0.1:${apiPort}`;
    const register = async (model, file, spec = {}, stage = 'Production') => {
      const form = new FormData();
      form.append('spec', JSON.stringify(spec));
      form.append('file', new Blob([readFileSync(file)]), 'model.onnx');
      const reg = await (
        await fetch(`${api}/v1/models/${model}/versions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}` },
          body: form,
        })
      ).json();
      // Up to 60 s: validation runs in a child process, slow when the box is busy.
      for (let i = 0; i < 600; i++) {
        const v = await (
          await fetch(`${api}/v1/models/${model}/versions/${reg.version}`, {
            headers: { authorization: `Bearer ${adminKey}` },
          })
        ).json();
        if (v.status === 'ready') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!stage) return reg.version;
      const p = await fetch(`${api}/v1/models/${model}/versions/${reg.version}/stage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ stage }),
      });
      if (p.status !== 200) throw new Error(`could not promote ${model}: ${await p.text()}`);
      return reg.version;
    };
    await register('iris', path.join(MODELS, 'iris_logreg', 'model.onnx'));
    await register('digits', path.join(MODELS, 'digits_mlp', 'model.onnx'));
    if (VARIANTS.includes('silent')) {
      // iris in production, and every request copied to a version that answers the same, ~30 ms of CPU later.
      await register('iris-silent', path.join(MODELS, 'iris_logreg', 'model.onnx'));
      const irisRows = JSON.parse(readFileSync(path.join(MODELS, 'iris_logreg', 'samples.json'), 'utf8'));
      const cols = irisRows.inputs[0].columns;
      const sampleInput = irisRows.input_data[irisRows.inputs[0].name]
        .slice(0, 3)
        .map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]])));
      const slow = await register(
        'iris-silent',
        path.join(root, 'test/fixtures/slow_iris.onnx'),
        { sampleInput },
        null,
      );
      const d = await fetch(`${api}/v1/models/iris-silent/deployment`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ config: { silent: [{ version: slow, sampleRate: 1 }] }, comment: 'bench: slow silent' }),
      });
      if (d.status !== 200) throw new Error(`could not add the silent version: ${await d.text()}`);
    }
    // A predict-only key like an application would hold.
    const sa = await (
      await fetch(`${api}/v1/service-accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench-app', role: 'viewer' }),
      })
    ).json();
    const key = (
      await (
        await fetch(`${api}/v1/api-keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'bench', scopes: ['predict'], serviceAccountId: sa.id }),
        })
      ).json()
    ).secret;

    if (PARTS.includes('batch')) {
      const { batchBench } = await import('./batch.mjs');
      const models = [
        ['iris', 'iris_logreg'],
        ['digits', 'digits_mlp'],
      ].map(([model, fixture]) => ({
        model,
        fixture,
        samples: JSON.parse(readFileSync(path.join(MODELS, fixture, 'samples.json'), 'utf8')),
      }));
      const lines = await batchBench({
        root,
        api,
        token: adminKey,
        storageRoot: env.STORAGE_LOCAL_ROOT,
        models,
        peers: PEERS,
        // A Python with polars, onnxruntime and numpy for the polars peer: BENCH_POLARS_PYTHON, else a venv of its own.
        polarsPython:
          process.env.BENCH_POLARS_PYTHON ??
          path.join(
            pythonVenv(POLARS_VENV, 'the polars peer', ['polars', 'onnxruntime', 'numpy'], {
              imports: 'polars, onnxruntime, numpy',
              skip: 'BENCH_POLARS_PYTHON names a Python that has them',
            }),
            'bin',
            'python',
          ),
        log,
      });
      writePart('batch', lines);
    }
    if (PARTS.includes('streams')) {
      const { streamsBench } = await import('./streams.mjs');
      const lines = await streamsBench({
        api,
        token: adminKey,
        redisUrl: env.REDIS_URL,
        redisPrefix: env.REDIS_PREFIX ?? 'modelyard',
        storageRoot: env.STORAGE_LOCAL_ROOT,
        model: 'iris',
        samples: JSON.parse(readFileSync(path.join(MODELS, 'iris_logreg', 'samples.json'), 'utf8')),
        log,
      });
      writePart('streams', lines);
    }
    if (!PARTS.includes('serving')) return;

    const flaskPort = await freePort();
    const barePort = await freePort();
    const fastapiPort = FASTAPI ? await freePort() : null;
    procs.push(
      launch(
        'flask',
        ['gunicorn', '--workers', '2', '--bind', `127.0.0.1:${flaskPort}`, '--chdir', PEERS, 'flask_server:app'],
        { quiet: true },
      ),
    );
    procs.push(
      launch('bare', [process.execPath, path.join(PEERS, 'bare_ort_server.js')], {
        env: { PORT: String(barePort), WORKERS: API_PROCESSES, ORT_THREADS: '1', ORT_NODE_DIR: root },
        quiet: true,
      }),
    );
    if (fastapiPort) {
      // The peer's own setup (fastapi_ort/start.sh): 2 uvicorn workers, 1 onnxruntime thread each, a `def` route.
      procs.push(
        launch(
          'fastapi',
          [
            path.join(fastapiVenv(), 'bin', 'uvicorn'),
            'app:app',
            '--app-dir',
            path.join(PEERS, 'fastapi_ort'),
            '--host',
            '127.0.0.1',
            '--port',
            String(fastapiPort),
            '--workers',
            '2',
            '--no-access-log',
          ],
          { env: { ORT_THREADS: '1', MODEL_PATH: path.join(MODELS, 'iris_logreg', 'model.onnx') }, quiet: true },
        ),
      );
    }
    for (const port of [flaskPort, barePort, fastapiPort].filter(Boolean))
      await waitForHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 60_000 });

    const servers = {
      flask: { url: `http://127.0.0.1:${flaskPort}/predict` },
      ...(fastapiPort ? { fastapi: { url: `http://127.0.0.1:${fastapiPort}/predict` } } : {}),
      bare: { url: `http://127.0.0.1:${barePort}/predict` },
      modelyard: { url: `${api}/v1/models/iris/predict`, token: key },
    };
    if (VARIANTS.includes('silent'))
      servers['modelyard-silent'] = { url: `${api}/v1/models/iris-silent/predict`, token: key };
    if (VARIANTS.includes('traced')) {
      const receiver = await otlpReceiver();
      stopReceiver = receiver.close;
      const tracedPort = await freePort();
      procs.push(
        launch('traced', [process.execPath, ...API_NODE_FLAGS, 'apps/api/dist/main.js'], {
          env: {
            ...env,
            API_PORT: String(tracedPort),
            LOG_FILE: path.join(tmp, 'traced-api.log'),
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
            OTEL_TRACES_SAMPLER_ARG: '0.01',
          },
          quiet: true,
        }),
      );
      await waitForHttp(`http://127.0.0.1:${tracedPort}/readyz`, { proc: procs.at(-1) });
      servers['modelyard-traced'] = { url: `http://127.0.0.1:${tracedPort}/v1/models/iris/predict`, token: key };
      tracedSpans = receiver.requests;
    }
    if (BASELINE) {
      // Launched after the models and the key exist: it loads the same Production versions at boot.
      const basePort = await freePort();
      procs.push(
        launch('baseline', [process.execPath, ...BASELINE_NODE_ARGS, path.join(BASELINE, 'apps/api/dist/main.js')], {
          env: { ...env, API_PORT: String(basePort), LOG_FILE: path.join(tmp, 'baseline-api.log') },
          cwd: BASELINE,
          quiet: true,
        }),
      );
      await waitForHttp(`http://127.0.0.1:${basePort}/readyz`, { proc: procs.at(-1) });
      servers.baseline = { url: `http://127.0.0.1:${basePort}/v1/models/iris/predict`, token: key };
    }
    const cases = [];
    for (const rows of [1, 100]) for (const c of [1, 8, 32]) cases.push({ rows, c });
    // Every server gets the same warm-up (JIT, pools, caches) before anything is measured.
    for (const [name, s] of Object.entries(servers)) {
      for (const rows of [1, 100])
        wrk(
          s.url,
          path.join(tmp, rows === 1 ? 'bodies_1row.jsonl' : 'bodies_100row.jsonl'),
          32,
          s.token,
          WARMUP_SECONDS,
        );
      log(`warmed ${name}`);
    }
    const results = {};
    const order = Object.entries(servers);
    for (let rep = 1; rep <= REPS; rep++) {
      for (const [i, { rows, c }] of cases.entries()) {
        // The order rotates with the repetition and the cell: on this box the server measured right after another
        // one's run did worse than the same server measured first, so no server always follows the same one.
        const k = (rep - 1 + i) % order.length;
        for (const [name, s] of [...order.slice(k), ...order.slice(0, k)]) {
          const r = wrk(s.url, path.join(tmp, rows === 1 ? 'bodies_1row.jsonl' : 'bodies_100row.jsonl'), c, s.token);
          ((results[`${rows}|${c}`] ??= {})[name] ??= []).push(r);
          log(
            `rep ${rep} rows=${rows} c=${c} ${name}: ${r.rps.toFixed(0)} req/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms errors ${r.errors}`,
          );
        }
      }
    }
    const digits = {};
    for (let rep = 1; rep <= REPS; rep++) {
      for (const c of [8, 32]) {
        // The bare peer only knows the iris features, so digits is measured on Modelyard alone.
        for (const [name, url, token] of [['modelyard', `${api}/v1/models/digits/predict`, key]]) {
          const r = wrk(url, path.join(tmp, 'digits_1row.jsonl'), c, token);
          ((digits[c] ??= {})[name] ??= []).push(r);
          log(`rep ${rep} digits c=${c} ${name}: ${r.rps.toFixed(0)} req/s errors ${r.errors}`);
        }
      }
    }
    // Keep what was measured even if the last phase fails.
    writeReport(results, digits, {}, API_NODE_FLAGS);
    for (const [name, base] of [
      ['modelyard', api],
      ['baseline', servers.baseline?.url.replace(/\/v1\/.*$/, '')],
    ]) {
      if (!base) continue;
      const r = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } }).catch(() => null);
      if (r?.ok) writeFileSync(path.join(tmp, `metrics-${name}.txt`), await r.text());
    }
    // Micro-batching off (above, the default: requests of one event-loop turn share a run): the same 1-row load
    // on iris, one run per request. Retried: after minutes of load, a kept-alive connection may have been closed.
    let patched = false;
    for (let attempt = 0; attempt < 5 && !patched; attempt++) {
      try {
        const patch = await fetch(`${api}/v1/models/iris`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ servingConfig: { microBatch: false } }),
        });
        if (patch.status !== 200) throw new Error(`could not switch micro-batching off: ${await patch.text()}`);
        patched = true;
      } catch (e) {
        log(`switching micro-batching off failed (${e.message}); retrying`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    if (!patched) throw new Error('could not switch micro-batching off');
    await new Promise((r) => setTimeout(r, 1000)); // the api hears of it by pub/sub
    const unbatched = {};
    for (let rep = 1; rep <= REPS; rep++) {
      for (const c of [8, 32]) {
        const r = wrk(servers.modelyard.url, path.join(tmp, 'bodies_1row.jsonl'), c, key);
        (unbatched[c] ??= []).push(r);
        log(
          `rep ${rep} micro-batching off c=${c}: ${r.rps.toFixed(0)} req/s p99 ${r.p99.toFixed(2)} ms errors ${r.errors}`,
        );
      }
    }
    writeReport(results, digits, unbatched, API_NODE_FLAGS);
  } finally {
    await stopAll();
  }
}

/** A part's own results file, `bench/results/<date>-<part>.md`. */
function writePart(part, lines) {
  const file = path.join(root, 'bench', 'results', `${day}-${part}.md`);
  mkdirSync(path.dirname(file), { recursive: true });
  const head = [
    `# Benchmark ${day}: ${part}`,
    '',
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}.` +
      (WORKER_NODE_ARGS.length ? ` The worker ran with node flags \`${WORKER_NODE_ARGS.join(' ')}\`.` : ''),
    '',
  ];
  writeFileSync(file, [...head, ...lines].join('\n') + '\n');
  console.log(`\n${[...head, ...lines].join('\n')}\nwritten to ${path.relative(root, file)}`);
}

/** 1,000 models: list endpoints, the overview in Chromium, api memory (bench/models.mjs), on a platform of its own. */
async function modelsPart() {
  buildWeb();
  mkdirSync(tmp, { recursive: true });
  const { modelsBench } = await import('./models.mjs');
  writePart('models', await modelsBench({ root, log }));
}

/** The drift report over 1,000,000 rows x 64 features (issue 7), in its own process. */
/** Milliseconds with three significant digits below 1 ms (a linear row takes microseconds). */
const ms = (x) => (x < 1 ? x.toFixed(4) : x.toFixed(2));

function explainPart() {
  const r = spawnSync(process.execPath, [path.join(root, 'bench', 'explain-bench.mjs')], {
    encoding: 'utf8',
    cwd: root,
  });
  if (r.status !== 0) throw new Error(`explain bench failed: ${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('EXPLAINJSON '));
  const json = JSON.parse(line.slice('EXPLAINJSON '.length));
  writePart('explain', [
    '## Explanations: time per explained row (issue 18)',
    '',
    `In process, the api's explainer (libs/server/src/explain) with its defaults: ${json.background} background ` +
      `rows (each model's first reference rows), ${json.samples} samples for the sampled method; each row ` +
      'explained once to warm, then the median and the slowest of the timed rows.',
    '',
    `Load average when it finished: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} (1 / 5 / 15 min; other processes share the cores, so read the figures as upper bounds).`,
    '',
    '| model | method | rows | median ms/row | max ms/row |',
    '|---|---|---:|---:|---:|',
    ...json.results.map((x) => `| ${x.what} | ${x.method} | ${x.rows} | ${ms(x.medianMs)} | ${ms(x.maxMs)} |`),
    '',
  ]);
}

function driftPart() {
  const r = spawnSync(process.execPath, [path.join(root, 'bench', 'drift-bench.mjs')], { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`drift bench failed: ${r.stderr}`);
  const json = JSON.parse(
    r.stdout
      .split('\n')
      .find((l) => l.startsWith('DRIFTJSON '))
      .slice('DRIFTJSON '.length),
  );
  log(`drift: fold + report ${json.totalSeconds.toFixed(2)} s`);
  writePart('drift', [
    `## Drift report: ${json.rows.toLocaleString('en')} rows x ${json.features} numeric features (issue 7)`,
    '',
    'A reference profile from 10,000 rows, then the rows folded into one window over its bins in batches of ' +
      `${json.batch.toLocaleString('en')} (typed arrays, binary search over the quantile edges, a bounded reservoir per feature), then PSI, ` +
      'Jensen-Shannon and KS per feature. Data generated deterministically outside the timed sections; 8 features shifted.',
    '',
    '| step | seconds |',
    '|---|---:|',
    `| reference profile (10,000 rows) | ${json.profileSeconds.toFixed(3)} |`,
    `| fold ${json.rows.toLocaleString('en')} x ${json.features} | ${json.foldSeconds.toFixed(3)} |`,
    `| report | ${json.reportSeconds.toFixed(3)} |`,
    `| **fold + report** | **${json.totalSeconds.toFixed(3)}** |`,
    ...(json.recordSeconds !== null
      ? [
          `| records -> columns -> fold, ${json.recordRows.toLocaleString('en')} rows (the prediction-log shape) | ${json.recordSeconds.toFixed(3)} |`,
        ]
      : []),
    '',
    `Drifting features found: ${json.drifted} of ${json.features} (dataset status ${json.status}). Target: <= 10 s: ${json.totalSeconds <= 10 ? 'met' : 'not met'}.`,
    '',
  ]);
}

function writeReport(results, digits, unbatched, launchFlags) {
  const m = (runs, k) => median(runs.map((r) => r[k]));
  const lines = [];
  lines.push(`# Benchmark ${day}`, '');
  lines.push(
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}. ` +
      `wrk -t2 on the same cores, ${SECONDS} s per run after ${WARMUP_SECONDS} s of warm-up per server and body, ${REPS} interleaved repetitions (the servers' order rotating with the repetition and the cell), medians. ` +
      `Modelyard: ${API_PROCESSES} api process(es) (API_PROCESSES; its default is one per core) with auth` +
      ' (API key), Prometheus metrics, per-key rate limiting (Redis leases), LOG_LEVEL=info to file and stdout (prediction access lines are debug: metrics and rollups count them), ' +
      'per-minute rollups, and its worker process running beside it on the same 2 cores; ' +
      '1% prediction-log sampling; micro-batching as by default (requests to one version read in one event-loop ' +
      'turn share a run, up to SERVING_MICRO_BATCH_ROWS = 256 rows, nobody waits; the bare peer runs each request ' +
      `alone). Bare: node:http + onnxruntime-node, ${API_PROCESSES} process(es) ` +
      "(node:cluster past one: the same as Modelyard's api). Flask: gunicorn with 2 sync workers. " +
      (FASTAPI
        ? 'FastAPI: uvicorn with 2 workers, onnxruntime (python) with 1 thread each, a `def` route ' +
          '(shared/peers/fastapi_ort). '
        : '') +
      'Model: iris logistic regression (shared/models/iris_logreg; the pickled pipeline for Flask).' +
      (BASELINE
        ? ` Baseline: the api of commit ${baselineCommit()} (BENCH_BASELINE), launched beside this one on the same` +
          ' database, Redis, worker and models, measured in the same interleaved runs.'
        : '') +
      ` Modelyard's api ran with node flags \`${[...launchFlags, ...API_NODE_ARGS].join(' ')}\`` +
      ` (${API_NODE_ARGS.length ? 'its launch flags and BENCH_API_NODE_ARGS' : 'its launch flags, scripts/platform.mjs'}).` +
      (BASELINE && BASELINE_NODE_ARGS.length ? ` The baseline ran with \`${BASELINE_NODE_ARGS.join(' ')}\`.` : ''),
    '',
  );
  lines.push(
    '| rows | c | server | req/s | rows/s | p50 ms | p99 ms | errors | vs Flask | vs FastAPI | vs bare |',
    '|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const [k, byServer] of Object.entries(results)) {
    const [rows, c] = k.split('|').map(Number);
    const flask = m(byServer.flask, 'rps');
    const fastapi = byServer.fastapi ? m(byServer.fastapi, 'rps') : null;
    const bare = m(byServer.bare, 'rps');
    for (const [name, runs] of Object.entries(byServer)) {
      const rps = m(runs, 'rps');
      lines.push(
        `| ${rows} | ${c} | ${name} | ${rps.toFixed(0)} | ${(rps * rows).toFixed(0)} | ${m(runs, 'p50').toFixed(2)} | ${m(runs, 'p99').toFixed(2)} | ${runs.reduce((a, r) => a + r.errors, 0)} | ${(rps / flask).toFixed(2)}x | ${fastapi ? `${(rps / fastapi).toFixed(2)}x` : '-'} | ${(rps / bare).toFixed(2)}x |`,
      );
    }
  }
  lines.push(
    '',
    '### Every repetition',
    '',
    '| rows | c | server | rep | req/s | p50 ms | p99 ms | errors |',
    '|---:|---:|---|---:|---:|---:|---:|---:|',
  );
  for (const [k, byServer] of Object.entries(results)) {
    const [rows, c] = k.split('|').map(Number);
    for (const [name, runs] of Object.entries(byServer)) {
      runs.forEach((r, i) =>
        lines.push(
          `| ${rows} | ${c} | ${name} | ${i + 1} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`,
        ),
      );
    }
  }
  lines.push(
    '',
    '## digits_mlp (64 features, 1-row requests; the bare peer only speaks iris)',
    '',
    '| c | server | req/s | p50 ms | p99 ms | errors |',
    '|---:|---|---:|---:|---:|---:|',
  );
  for (const [c, byServer] of Object.entries(digits)) {
    for (const [name, runs] of Object.entries(byServer)) {
      lines.push(
        `| ${c} | ${name} | ${m(runs, 'rps').toFixed(0)} | ${m(runs, 'p50').toFixed(2)} | ${m(runs, 'p99').toFixed(2)} | ${runs.reduce((a, r) => a + r.errors, 0)} |`,
      );
    }
  }
  const t32 = results['1|32'];
  const c8 = results['1|8'];
  const r100 = results['100|32'];
  lines.push(
    '',
    '## Against the targets (issue 5)',
    '',
    `- req/s at c=32, 1 row: ${(m(t32.modelyard, 'rps') / m(t32.bare, 'rps')).toFixed(2)}x bare (target >= 0.7x), ${(m(t32.modelyard, 'rps') / m(t32.flask, 'rps')).toFixed(2)}x Flask (target >= 3.5x).`,
    `- p99 at c=8, 1 row: ${m(c8.modelyard, 'p99').toFixed(2)} ms (target <= 5 ms).`,
    `- rows/s with 100-row bodies at c=32: ${(m(r100.modelyard, 'rps') / m(r100.bare, 'rps')).toFixed(2)}x bare (target >= 0.8x).`,
    '',
    `## Against the targets (issue 23; bare with ${API_PROCESSES} process(es), like Modelyard's api)`,
    '',
  );
  for (const rows of [1, 100]) {
    const cell = results[`${rows}|32`];
    // Repetition by repetition: bare was measured right before Modelyard in the same repetition.
    const each = cell.modelyard.map((r, i) => r.p99 / cell.bare[i].p99);
    lines.push(
      `- p99 at c=32, ${rows} row(s), Modelyard / bare per repetition: ` +
        `${each.map((x) => `${x.toFixed(2)}x`).join(', ')}` +
        ` (target: none above 2x): ${each.every((x) => x <= 2) ? 'met' : 'not met'}.`,
    );
    for (const c of [8, 32]) {
      const byServer = results[`${rows}|${c}`];
      const x = m(byServer.modelyard, 'rps') / m(byServer.bare, 'rps');
      lines.push(`- req/s at c=${c}, ${rows} row(s): ${x.toFixed(2)}x bare (target >= 0.85x).`);
    }
  }
  if (t32.fastapi) {
    const worst = Object.values(results).map((b) => m(b.modelyard, 'rps') / m(b.fastapi, 'rps'));
    lines.push(
      `- req/s against FastAPI, the lowest cell: ${Math.min(...worst).toFixed(2)}x (target >= 2x in every cell).`,
    );
  }
  lines.push('');
  if (t32.baseline) {
    lines.push('## This commit against the baseline (median req/s, this / baseline, per cell)', '');
    for (const [k, byServer] of Object.entries(results)) {
      const [rows, c] = k.split('|');
      const each = byServer.modelyard.map((r, i) => (r.rps / byServer.baseline[i].rps).toFixed(2)).join(', ');
      lines.push(
        `- ${rows} row(s), c=${c}: ${(m(byServer.modelyard, 'rps') / m(byServer.baseline, 'rps')).toFixed(2)}x ` +
          `(repetitions: ${each})`,
      );
    }
    lines.push('');
  }
  const variantNotes = {
    'modelyard-traced':
      'a second api of this build with OpenTelemetry on, 1 % of traces sampled (OTEL_TRACES_SAMPLER=' +
      'parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.01), exported over OTLP/HTTP to a local receiver ' +
      `that answered ${tracedSpans()} export requests in the run (issue 20)`,
    'modelyard-silent':
      'the same api on a model whose deployment copies every request to a slow silent version ' +
      '(test/fixtures/slow_iris.onnx, ~30 ms of CPU per call), within the silent caps (issue 9)',
  };
  for (const [variant, note] of Object.entries(variantNotes)) {
    if (!t32[variant]) continue;
    lines.push(
      `## ${variant} against modelyard in the same runs`,
      '',
      `${variant}: ${note}. Ratios variant / modelyard of the median per cell; each repetition's in brackets ` +
        '(the two were measured one right after the other).',
      '',
      '| rows | c | req/s ratio | p50 ratio | p99 ratio |',
      '|---:|---:|---|---|---|',
    );
    for (const [k, byServer] of Object.entries(results)) {
      const [rows, c] = k.split('|');
      const ratio = (key) => {
        const each = byServer[variant].map((r, i) => (r[key] / byServer.modelyard[i][key]).toFixed(2)).join(', ');
        return `${(m(byServer[variant], key) / m(byServer.modelyard, key)).toFixed(2)}x (${each})`;
      };
      lines.push(`| ${rows} | ${c} | ${ratio('rps')} | ${ratio('p50')} | ${ratio('p99')} |`);
    }
    lines.push('');
  }
  lines.push(
    '## Micro-batching: the default vs off (iris, 1-row requests)',
    '',
    'Default: requests to one version read in one turn of the event loop share an onnxruntime run (up to ' +
      'SERVING_MICRO_BATCH_ROWS, 256; nobody waits for company). Off: `servingConfig.microBatch: false`, one run ' +
      'per request, measured after the interleaved runs above.',
    '',
    '| c | default req/s | off req/s | default p99 ms | off p99 ms |',
    '|---:|---:|---:|---:|---:|',
  );
  if (!Object.keys(unbatched).length) lines.push('| (not measured in this run) | | | | |');
  for (const [c, off] of Object.entries(unbatched)) {
    const on = results[`1|${c}`].modelyard;
    lines.push(
      `| ${c} | ${m(on, 'rps').toFixed(0)} | ${m(off, 'rps').toFixed(0)} | ${m(on, 'p99').toFixed(2)} | ${m(off, 'p99').toFixed(2)} |`,
    );
  }
  const file = path.join(root, 'bench', 'results', `${REPORT}.md`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, lines.join('\n') + '\n');
  console.log(`\n${lines.join('\n')}\n\nwritten to ${path.relative(root, file)}`);
}

let tracedSpans = () => 0;

/** A stand-in OTLP/HTTP collector: answers every export 200 and counts them (the traced variant's sink). */
async function otlpReceiver() {
  const http = await import('node:http');
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests: () => requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The FastAPI peer's Python 3.11 venv (fastapi_ort/start.sh's packages), made from the local package index once. */
function fastapiVenv() {
  return pythonVenv(FASTAPI_VENV, 'the FastAPI peer', ['fastapi', 'uvicorn[standard]', 'onnxruntime', 'numpy'], {
    imports: 'fastapi, uvicorn, onnxruntime, numpy',
    skip: 'BENCH_FASTAPI=0 skips it',
  });
}

/** A Python 3.11 venv at `dir` holding `packages` from the local package index, created when it cannot import them. */
export function pythonVenv(dir, what, packages, { imports, skip }) {
  const py = path.join(dir, 'bin', 'python');
  const ready = () => spawnSync(py, ['-c', `import ${imports}`], { stdio: 'ignore' }).status === 0;
  if (ready()) return dir;
  log(`creating ${path.relative(root, dir)} for ${what}`);
  spawnSync('python3.11', ['-m', 'venv', dir], { stdio: 'inherit' });
  // --retries 0: only the local index answers on these machines; a public one would be retried for minutes.
  const pip = spawnSync(path.join(dir, 'bin', 'pip'), ['install', '-q', '--retries', '0', ...packages], {
    stdio: 'inherit',
  });
  if (pip.status !== 0 || !ready()) throw new Error(`could not install ${what} (${skip})`);
  return dir;
}

function baselineCommit() {
  const r = spawnSync('git', ['-C', BASELINE, 'log', '-1', '--format=%h (%s)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().slice(0, 100) : path.basename(BASELINE);
}

main().catch((e) => {
  console.error(e.stack ?? e.message);
  // fetch's own reason (a refused or reset connection) is in its cause.
  if (e.cause) console.error('cause:', e.cause.stack ?? e.cause.message ?? e.cause);
  process.exit(1);
});
