// `npm run bench -- models`: cost with many models (issue 23). On a platform of its own (fresh Postgres and Redis,
// api + worker + web): registers BENCH_MODELS (1000) models, each one version of test/fixtures/models/iris_logreg
// (every model registers one copy of it by URI, so no bytes are copied; nothing from ../shared), none in Production
// (so none is loaded at boot); loads BENCH_LOADED (50) of them by predicting once; then times the list endpoints and
// the dashboard's overview and models pages in Chromium (the web server reaches the api through a counting proxy:
// the API calls of each load), and reports the api process's RSS and V8 heap with nothing loaded and with the 50
// loaded. BENCH_PAGE_REPS (7) timed loads per page after one warm-up: medians and every repetition.
// BENCH_VALIDATION_MINUTES (60): how long to wait for the worker to validate every version.
// BENCH_VALIDATE_ALL (0): by default the worker validates the BENCH_LOADED models that get loaded, and the other
// versions (byte-identical copies of the same artifact) are marked ready in SQL with the first one's validated
// fields: each validation is a sandboxed process, and 1,000 of them take longer than the rest of the bench. 1: the
// worker validates every version.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { performance } from 'node:perf_hooks';

const FIXTURE = 'test/fixtures/models/iris_logreg';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const ms = (x) => `${x.toFixed(0)} ms`;

/** Runs fn over items with at most `limit` in flight. */
async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * A pass-through HTTP proxy in front of the api for the web server, recording every call it forwards (method, path,
 * status, time to the answer's end): how many API calls one page load makes and what each cost the api.
 */
async function countingProxy(target) {
  const calls = [];
  const server = http.createServer((req, res) => {
    const s = performance.now();
    const headers = { ...req.headers };
    delete headers.host;
    const up = http.request(`${target}${req.url}`, { method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
      r.on('end', () =>
        calls.push({ method: req.method, path: req.url, status: r.statusCode, ms: performance.now() - s }),
      );
    });
    up.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(up);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

const VALIDATE_ALL = process.env.BENCH_VALIDATE_ALL === '1';

/**
 * The versions of `copies` (still pending: byte-identical copies of `validated`'s artifact) made ready with the
 * fields the worker's validation gave `validated`'s version. Their queued validations then find them settled and
 * skip them.
 */
async function copyValidation(databaseUrl, validated, copies) {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const r = await db.query(
      `UPDATE "ModelVersion" c SET "status" = 'ready', "signature" = v."signature", "servingUri" = v."servingUri",
         "servingSha256" = v."servingSha256", "sha256" = v."sha256", "sizeBytes" = v."sizeBytes",
         "sampleOutput" = v."sampleOutput", "readyAt" = now()
       FROM "ModelVersion" v JOIN "RegisteredModel" vm ON vm."id" = v."modelId",
         "RegisteredModel" cm
       WHERE vm."name" = $1 AND v."number" = 1 AND v."status" = 'ready'
         AND cm."id" = c."modelId" AND cm."name" = ANY($2) AND c."status" = 'pending'
         AND c."storageUri" = v."storageUri"`,
      [validated, copies],
    );
    // The worker may have validated a few of them meanwhile; none may be left pending.
    const left = await db.query(
      `SELECT count(*)::int AS n FROM "ModelVersion" c JOIN "RegisteredModel" cm ON cm."id" = c."modelId"
       WHERE cm."name" = ANY($1) AND c."status" <> 'ready'`,
      [copies],
    );
    if (left.rows[0].n) throw new Error(`${left.rows[0].n} copies are not ready (${r.rowCount} marked)`);
    return r.rowCount;
  } finally {
    await db.end();
  }
}

export async function modelsBench({ root, log }) {
  const N = Number(process.env.BENCH_MODELS ?? 1000);
  const LOADED = Math.min(N, Number(process.env.BENCH_LOADED ?? 50));
  const REPS = Number(process.env.BENCH_PAGE_REPS ?? 7);
  const { provision, seed, launch, waitForHttp, API_NODE_FLAGS } = await import('../scripts/platform.mjs');
  const { freePort } = await import('../scripts/services.mjs');
  const { launchChromium } = await import('./chromium.mjs');
  const platform = await provision({ mode: 'bench-models' });
  const admin = {
    MODELYARD_ADMIN_EMAIL: 'bench-admin@bench.modelyard.local',
    MODELYARD_ADMIN_PASSWORD: `bench-password-${Date.now()}`,
    MODELYARD_ADMIN_API_KEY: `bench-models-${Date.now()}-${'m'.repeat(24)}`,
  };
  seed({ ...platform.env, ...admin });
  const apiPort = await freePort();
  const webPort = await freePort();
  // The api's inspector, opened only to read its live heap (bench/live-heap.mjs); nothing profiles it.
  const inspectPort = await freePort();
  const env = {
    ...platform.env,
    LOG_LEVEL: 'warn',
    LOG_FILE: path.join(root, 'bench', 'tmp', 'models-api.log'),
    STORAGE_LOCAL_ROOT: path.join(root, 'bench', 'tmp', 'models-artifacts'),
    RATE_LIMIT_RPS: '1000000',
    RATE_LIMIT_BURST: '1000000',
    ROLLUP_FLUSH_SECONDS: '2',
    // The dashboard logs in once per browser; a bench run never floods it.
    LOGIN_GLOBAL_PER_SECOND: '20',
    API_PROCESSES: '1',
    // Its own port: the default (9464) is taken whenever another worker runs on the box, and this one would exit.
    WORKER_METRICS_PORT: String(await freePort()),
    WORKER_METRICS_HOST: '127.0.0.1',
  };
  const loadStart = loadavg();
  const procs = [];
  const apiProxy = await countingProxy(`http://127.0.0.1:${apiPort}`);
  const token = admin.MODELYARD_ADMIN_API_KEY;
  const api = `http://127.0.0.1:${apiPort}`;
  const web = `http://127.0.0.1:${webPort}`;
  const call = async (method, p, body) => {
    const init = { method, headers: { authorization: `Bearer ${token}` } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
    const r = await fetch(`${api}${p}`, init);
    const text = await r.text();
    if (r.status >= 400) throw new Error(`${method} ${p}: ${r.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
  try {
    procs.push(
      launch(
        'api',
        [process.execPath, ...API_NODE_FLAGS, `--inspect-port=127.0.0.1:${inspectPort}`, 'apps/api/dist/main.js'],
        {
          env: { ...env, API_PORT: String(apiPort) },
          quiet: true,
        },
      ),
    );
    procs.push(launch('worker', [process.execPath, 'apps/worker/dist/main.js'], { env, quiet: true }));
    procs.push(
      launch('web', [process.execPath, 'server.mjs'], {
        cwd: path.join(root, 'apps/web'),
        env: { ...env, API_URL: apiProxy.url, PORT: String(webPort), WEB_HOST: '127.0.0.1' },
        quiet: true,
      }),
    );
    await waitForHttp(`${api}/readyz`, { proc: procs[0] });
    await waitForHttp(`${web}/login`, { proc: procs[2] });
    const apiPid = procs[0].child.pid;
    // The api's own figure beside the kernel's: V8's heap in use (prom-client's default metric), since RSS keeps
    // pages the heap has freed.
    const memory = async () => {
      const text = await (await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
      const rss = rssMiB(apiPid);
      // What the models hold, without the garbage a full collection would free: the heap in use above counts
      // whatever V8 has not collected yet (registering 1,000 models leaves plenty).
      const probe = spawnSync(
        process.execPath,
        ['--experimental-websocket', path.join(root, 'bench', 'live-heap.mjs'), String(apiPid), String(inspectPort)],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (probe.status !== 0) throw new Error(`live heap: ${probe.stderr || probe.error}`);
      return { rss, heap, live: JSON.parse(probe.stdout).liveMiB, rssAfterGc: rssMiB(apiPid) };
    };
    const rssEmpty = await memory();

    // Registration: every model registers one copy of the fixture by its URI (no bytes copied per model). The copy
    // sits outside the platform's own prefixes (models/, jobs/): since projects (issue 17) a caller may not name
    // another model's upload, and the default project may read the rest of the local root.
    const names = Array.from({ length: N }, (_, i) => `bench-m-${String(i).padStart(4, '0')}`);
    const shared = path.join(env.STORAGE_LOCAL_ROOT, 'imports', 'bench-models', 'model.onnx');
    mkdirSync(path.dirname(shared), { recursive: true });
    copyFileSync(path.join(root, FIXTURE, 'model.onnx'), shared);
    const artifactUri = pathToFileURL(shared).href;
    const t0 = performance.now();
    await mapLimit(names, 8, (name) => call('POST', `/v1/models/${name}/versions`, { artifactUri }));
    const registerSeconds = (performance.now() - t0) / 1000;
    log(`models: registered ${N} models in ${registerSeconds.toFixed(1)} s; waiting for validation`);
    // The worker takes validations in registration order: the loaded ones first.
    const validating = VALIDATE_ALL ? names : names.slice(0, LOADED);
    let pending = [...validating];
    const until = Date.now() + Number(process.env.BENCH_VALIDATION_MINUTES ?? 60) * 60_000;
    while (pending.length) {
      if (Date.now() > until) throw new Error(`${pending.length} versions still pending validation`);
      const worker = procs[1];
      if (worker.child.exitCode !== null || worker.child.signalCode !== null)
        throw new Error(`the worker exited, so nothing validates the versions:\n${worker.tail()}`);
      const states = await mapLimit(pending, 8, (name) => call('GET', `/v1/models/${name}/versions/1`));
      const failed = states.find((v) => v.status === 'failed');
      if (failed) throw new Error(`${failed.model} v1 failed validation: ${failed.failureReason}`);
      pending = pending.filter((_, i) => states[i].status !== 'ready');
      if (pending.length) {
        log(`models: ${validating.length - pending.length} of ${validating.length} validated`);
        await new Promise((r) => setTimeout(r, 5000));
      }
    }
    if (!VALIDATE_ALL) await copyValidation(env.DATABASE_URL, names[0], names.slice(LOADED));
    const readySeconds = (performance.now() - t0) / 1000;
    log(`models: all ${N} ready after ${readySeconds.toFixed(1)} s`);
    const rssRegistered = await memory();

    // Load LOADED of them: one prediction by version number each (the admin key may call any version).
    const samples = JSON.parse(readFileSync(path.join(root, FIXTURE, 'samples.json'), 'utf8'));
    const cols = samples.inputs[0].columns;
    const row = samples.input_data[samples.inputs[0].name][0];
    const payload = { payload: [Object.fromEntries(cols.map((c, i) => [c, row[i]]))] };
    await mapLimit(names.slice(0, LOADED), 4, (name) => call('POST', `/v1/models/${name}/versions/1/predict`, payload));
    // The rollups of those predictions reach Postgres at the next flush (ROLLUP_FLUSH_SECONDS=2).
    await new Promise((r) => setTimeout(r, 4000));
    const rssLoaded = await memory();

    // The list endpoints, as the admin key (sees every model).
    const timeIt = async (fn) => {
      await fn();
      const runs = [];
      for (let i = 0; i < REPS; i++) {
        const s = performance.now();
        await fn();
        runs.push(performance.now() - s);
      }
      return { median: median(runs), max: Math.max(...runs), runs };
    };
    const walk = async (p) => {
      let cursor = null;
      let pages = 0;
      do {
        const r = await call('GET', `${p}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        cursor = r.nextCursor;
        pages++;
      } while (cursor && pages < 1000);
      return pages;
    };
    const pagesOf200 = await walk('/v1/overview?limit=200');
    const endpoints = [
      ['GET /v1/models?limit=50 (first page)', () => call('GET', '/v1/models?limit=50')],
      ['GET /v1/overview?limit=50 (first page, 24 h, 49 points)', () => call('GET', '/v1/overview?limit=50&points=49')],
      ['GET /v1/overview?limit=50&sort=requests', () => call('GET', '/v1/overview?limit=50&sort=requests&points=49')],
      [
        'GET /v1/overview?limit=50&sort=name, 7 days in 48 points',
        () => {
          const from = new Date(Date.now() - 7 * 86_400_000).toISOString();
          return call('GET', `/v1/overview?limit=50&sort=name&points=48&from=${from}`);
        },
      ],
      [`every page of GET /v1/overview?limit=200 (${pagesOf200} pages)`, () => walk('/v1/overview?limit=200')],
      [`every page of GET /v1/models?limit=200`, () => walk('/v1/models?limit=200')],
      [
        'before: GET /v1/models?limit=50, then per model deployment, 24 h metrics, alert rules, drift; 8 at a time',
        async () => {
          const to = new Date();
          const from = new Date(to.getTime() - 86_400_000);
          const page = await call('GET', '/v1/models?limit=50');
          await mapLimit(page.items, 8, async (m) => {
            const n = encodeURIComponent(m.name);
            // As the page's load(): an error answer (a 404 for "no drift window yet") is shown, not thrown.
            await Promise.all(
              [
                `/v1/models/${n}/deployment`,
                `/v1/models/${n}/metrics?from=${from.toISOString()}&to=${to.toISOString()}`,
                `/v1/models/${n}/alert-rules`,
                `/v1/models/${n}/drift/latest`,
              ].map((p) => call('GET', p).catch(() => null)),
            );
          });
        },
      ],
    ];
    const endpointTimes = [];
    for (const [what, fn] of endpoints) {
      const t = await timeIt(fn);
      endpointTimes.push([what, t]);
      log(`models: ${what}: median ${ms(t.median)}, max ${ms(t.max)}`);
    }

    // The dashboard in Chromium, signed in as the admin: the document arrives once the server has the data.
    const browser = await launchChromium();
    const pageTimes = [];
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: web });
      const page = await context.newPage();
      page.setDefaultTimeout(60_000);
      await page.goto('/login');
      await page.getByLabel('Email', { exact: true }).fill(admin.MODELYARD_ADMIN_EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(admin.MODELYARD_ADMIN_PASSWORD);
      await page.getByLabel('Password', { exact: true }).press('Enter');
      await page.waitForURL(`${web}/`);
      for (const [what, url, table] of [
        ['overview (/)', '/', 'Models overview'],
        ['overview sorted by requests (/?sort=requests)', '/?sort=requests', 'Models overview'],
        ['models list (/models)', '/models', 'Models'],
      ]) {
        const runs = [];
        let last = null;
        for (let i = 0; i <= REPS; i++) {
          apiProxy.calls.length = 0;
          const s = performance.now();
          await page.goto(url, { waitUntil: 'load' });
          await page.getByRole('table', { name: table, exact: true }).waitFor({ state: 'visible' });
          const total = performance.now() - s;
          if (i === 0) continue; // the first load warms Next's caches
          // How much of it was the server (the document, rendered with the API's data) and how much the browser,
          // and what the browser was sent (the document's bytes and the scripts', cached or not).
          const nav = await page.evaluate(() => {
            const [n] = performance.getEntriesByType('navigation');
            const scripts = performance.getEntriesByType('resource').filter((r) => r.initiatorType === 'script');
            return {
              document: n.responseEnd - n.requestStart,
              firstByte: n.responseStart - n.requestStart,
              htmlBytes: n.decodedBodySize,
              htmlWire: n.encodedBodySize,
              scripts: scripts.length,
              scriptBytes: scripts.reduce((sum, r) => sum + r.decodedBodySize, 0),
            };
          });
          const calls = [...apiProxy.calls];
          runs.push({ total, ...nav, calls: calls.length, apiMs: calls.reduce((sum, c) => sum + c.ms, 0) });
          last = calls;
        }
        const rows = await page.getByRole('table', { name: table, exact: true }).locator('tbody tr').count();
        const t = {
          median: median(runs.map((r) => r.total)),
          max: Math.max(...runs.map((r) => r.total)),
          server: median(runs.map((r) => r.document)),
          rows,
          runs,
          calls: last,
        };
        pageTimes.push([what, t]);
        log(
          `models: ${what}: median ${ms(t.median)} (document ${ms(t.server)}), max ${ms(t.max)} (${rows} rows, ` +
            `${runs[runs.length - 1].calls} API calls)`,
        );
      }
    } finally {
      await browser.close();
    }

    const overview = pageTimes[0][1].median;
    const verdict = N >= 1000 ? (overview <= 1000 ? 'met' : 'not met') : `not measured (${N} models)`;
    const list = (xs, f) => xs.map(f).join(' / ');
    const kib = (b) => (b / 1024).toFixed(0);
    // Every setting this run changed from the platform's and the bench's defaults, so a reader can repeat it.
    const settings = [
      ...[
        'BENCH_MODELS',
        'BENCH_LOADED',
        'BENCH_PAGE_REPS',
        'BENCH_VALIDATION_MINUTES',
        'BENCH_VALIDATE_ALL',
        'E2E_CHROMIUM_PATH',
      ]
        .filter((k) => process.env[k] !== undefined)
        .map((k) => `${k}=${process.env[k]}`),
      ...Object.entries(env)
        .filter(([k]) => !(k in platform.env) && !['LOG_FILE', 'STORAGE_LOCAL_ROOT'].includes(k))
        .filter(([k]) => !k.startsWith('WORKER_METRICS_'))
        .map(([k, v]) => `${k}=${v}`),
    ];
    return [
      `## ${N.toLocaleString('en')} models on one page (issue 23)`,
      '',
      `A platform of its own (api, worker, web; one api process): ${N.toLocaleString('en')} models, each one ready ` +
        `version of ${FIXTURE} (none in Production, so none loaded at boot), ${LOADED} of them loaded by one ` +
        `prediction each. Registration: ${registerSeconds.toFixed(1)} s to accept, ${readySeconds.toFixed(1)} s ` +
        (VALIDATE_ALL
          ? 'until the worker had validated every version. '
          : `until every version was ready: the worker validated the ${LOADED} that get loaded, the other ` +
            `${N - LOADED} (byte-identical copies of the same artifact) were marked ready in SQL with the first ` +
            "one's validated fields, as 1,000 sandboxed validations take longer than the rest of the bench " +
            '(BENCH_VALIDATE_ALL=1 validates them all). ') +
        `Timings are medians of ${REPS} after one warm-up, as the seeded admin ` +
        '(every model visible). The web server reaches the api through a pass-through proxy of the bench that ' +
        'counts its calls.',
      '',
      `Settings: ${settings.join(', ')}. Load average at the start ${loadStart}, at the end ${loadavg()} ` +
        '(1 / 5 / 15 min; other processes share the cores, so read the times as upper bounds).',
      '',
      '| api process | RSS MiB | V8 heap used MiB (/metrics) | live heap after a full GC MiB | RSS after it MiB |',
      '|---|---:|---:|---:|---:|',
      ...[
        ['after boot, no models', rssEmpty],
        [`${N.toLocaleString('en')} registered, none loaded`, rssRegistered],
        [`${N.toLocaleString('en')} registered, ${LOADED} loaded`, rssLoaded],
      ].map(
        ([what, m]) =>
          `| ${what} | ${m.rss.toFixed(0)} | ${m.heap.toFixed(0)} | ${m.live.toFixed(1)} | ${m.rssAfterGc.toFixed(0)} |`,
      ),
      '',
      `Per registered model: ${(((rssRegistered.live - rssEmpty.live) * 1024) / N).toFixed(1)} KiB of live heap. ` +
        'The first columns are read as a scrape would (RSS from /proc, the heap from /metrics); the live heap ' +
        "is read after two full collections through the api's inspector, which the bench opens for that alone " +
        '(the api runs with `--inspect-port`).',
      '',
      '| endpoint (as the admin key, from the bench) | median ms | max ms | every repetition, ms |',
      '|---|---:|---:|---|',
      ...endpointTimes.map(
        ([what, t]) =>
          `| ${what} | ${t.median.toFixed(1)} | ${t.max.toFixed(1)} | ${list(t.runs, (x) => x.toFixed(0))} |`,
      ),
      '',
      '| page in Chromium (navigation to load, table visible) | median ms | of which the document | max ms | rows | ' +
        'API calls per load |',
      '|---|---:|---:|---:|---:|---:|',
      ...pageTimes.map(
        ([what, t]) =>
          `| ${what} | ${t.median.toFixed(0)} | ${t.server.toFixed(0)} | ${t.max.toFixed(0)} | ${t.rows} | ` +
          `${t.runs[t.runs.length - 1].calls} |`,
      ),
      '',
      'Every repetition (separated by ";"), in ms: whole load / the document (request to its last byte) / its first ' +
        "byte / the API calls the web server made, summed; then the document's HTML and the scripts the page ran " +
        '(decoded, cached or not):',
      '',
      ...pageTimes.flatMap(([what, t]) => [
        `- ${what}: ${t.runs
          .map((r) => [r.total, r.document, r.firstByte, r.apiMs].map((x) => x.toFixed(0)).join('/'))
          .join('; ')}; HTML ${kib(t.runs[0].htmlBytes)} KiB (${kib(t.runs[0].htmlWire)} KiB on the ` +
          `wire), ${t.runs[0].scripts} scripts, ${kib(t.runs[0].scriptBytes)} KiB; API calls of the last load: ` +
          `${t.calls.map((c) => `${c.method} ${c.path.split('?')[0]} ${c.status} ${c.ms.toFixed(0)} ms`).join(', ')}`,
      ]),
      '',
      `Target: the overview at 1,000 models <= 1 s: ${verdict} (${ms(overview)}).`,
      '',
    ];
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await apiProxy.close();
    await platform.stop();
  }
}
