// `npm test`: the same provisioning as `npm start`, then every tier: unit (beside the code), integration
// (real Postgres + Redis, in-process apps), end-to-end (the running api, worker and web over HTTP and in
// Chromium) and python (clients/python's pytest suite against the same running platform), after lint (Prettier,
// ESLint). Prints one `N passed, N failed` line at the end; exits non-zero if anything failed.
//   npm test -- lint | unit | integration | e2e | python | security | fault | ops   run one tier only
//   npm test -- e2e jobs                              only that tier's files whose name contains "jobs"
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { bootstrap, log, root, QUIET_ENV } from './bootstrap.mjs';

const only = process.argv[2];
const fileFilter = process.argv[3];
const TIERS = ['lint', 'unit', 'integration', 'e2e', 'python', 'security', 'fault', 'ops'];
if (only && !TIERS.includes(only)) {
  console.error(`unknown tier "${only}": one of ${TIERS.join(', ')}`);
  process.exit(2);
}
const tiers = only ? [only] : TIERS;
// The e2e, python, security, fault and ops tiers run against the same launched platform (api, worker, web, storage
// servers).
const needsPlatformApps = ['e2e', 'python', 'security', 'fault', 'ops'].some((t) => tiers.includes(t));
const started = Date.now();

try {
  bootstrap({ web: needsPlatformApps });
} catch (e) {
  console.error(e.message);
  process.exit(1);
}

function findTests(dirs, suffix) {
  const out = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith(suffix)) out.push(p);
    }
  };
  dirs.forEach(walk);
  return out.filter((f) => !fileFilter || path.basename(f).includes(fileFilter)).sort();
}

const distDirs = [
  ...['libs', 'apps'].flatMap((g) => readdirSync(path.join(root, g)).map((d) => path.join(root, g, d, 'dist'))),
  path.join(root, 'test/dist/deploy'),
];
const totals = { passed: 0, failed: 0, skipped: 0 };

/** Runs node's test runner on files; the spec reporter goes to the terminal, TAP to a file we count from. */
function runNodeTests(name, files, env, { concurrency = 1, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    if (!files.length) {
      log(`${name}: no test files`);
      return resolve(0);
    }
    log(`${name}: ${files.length} file(s)`);
    const tapFile = path.join(root, '.data', `test-${name}.tap`);
    mkdirSync(path.dirname(tapFile), { recursive: true });
    const args = [
      '--enable-source-maps',
      '--test',
      `--test-concurrency=${concurrency}`,
      `--test-timeout=${timeoutMs}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapFile}`,
      ...files,
    ];
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...QUIET_ENV, ...env },
    });
    child.on('exit', (code) => {
      const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
      const count = (k) => Number((tap.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
      const passed = count('pass'),
        failed = count('fail') + count('cancelled'),
        skipped = count('skipped');
      totals.passed += passed;
      totals.failed += failed;
      totals.skipped += skipped;
      if (code !== 0 && failed === 0) totals.failed += 1; // the runner itself failed (crash, bad file)
      log(`${name}: ${passed} passed, ${failed} failed`);
      resolve(code ?? 1);
    });
  });
}

/** Prettier's layout and ESLint's rules (eslint.config.mjs) over the code: one check each, passed or failed. */
function runLint() {
  const checks = [
    ['prettier', 'prettier', ['--check', '--log-level', 'warn', '**/*.{ts,tsx,mjs,js,cjs}']],
    ['eslint', 'eslint', ['--max-warnings', '0', '.']],
  ];
  let code = 0;
  for (const [name, bin, args] of checks) {
    const r = spawnSync(path.join(root, 'node_modules/.bin', bin), args, { cwd: root, stdio: 'inherit' });
    const ok = r.status === 0;
    totals[ok ? 'passed' : 'failed'] += 1;
    log(`lint: ${name} ${ok ? 'clean' : 'found problems (fix: npx prettier --write . / npx eslint --fix .)'}`);
    if (!ok) code = 1;
  }
  return code;
}

let platform = null;
let apps = [];
let stopStorage = async () => {};
let exitCode = 0;
try {
  if (tiers.includes('lint')) exitCode |= runLint();
  if (tiers.includes('unit')) {
    exitCode |= await runNodeTests(
      'unit',
      findTests(distDirs, '.spec.js').filter((f) => !f.endsWith('.int-spec.js')),
      {},
      { concurrency: 2 },
    );
  }
  if (tiers.includes('integration') || needsPlatformApps) {
    const { provision, seed } = await import('./platform.mjs');
    platform = await provision({ mode: 'test' });
    const admin = {
      MODELYARD_ADMIN_EMAIL: 'admin@test.modelyard.local',
      MODELYARD_ADMIN_PASSWORD: 'admin-password-e2e',
      MODELYARD_ADMIN_API_KEY: `ci-admin-key-${Date.now()}-${'z'.repeat(24)}`,
    };
    if (tiers.includes('integration')) {
      exitCode |= await runNodeTests('integration', findTests(distDirs, '.int-spec.js'), platform.env);
    }
    if (needsPlatformApps) {
      // The launched platform gets a database of its own: the worker's reconciler treats every unfinished row as
      // its own work, and the in-process apps of the integration tier leave such rows behind.
      platform.env = { ...platform.env, DATABASE_URL: await freshDatabase(platform.env, 'modelyard_platform') };
      seed({ ...platform.env, ...admin });
      const { launchApps, waitForHttp } = await import('./platform.mjs');
      const { freePort } = await import('./services.mjs');
      ensureChromium();
      const storage = await startStorageServers(freePort);
      stopStorage = storage.stop;
      const apiPort = await freePort();
      const webPort = await freePort();
      const workerMetricsPort = await freePort();
      // The per-key limit is proven in the integration tier; here one admin key drives load tests.
      const env = {
        ...platform.env,
        ...storage.env,
        LOG_LEVEL: 'warn',
        LOG_FILE: path.join(root, '.data/logs/e2e.log'),
        RATE_LIMIT_RPS: '100000',
        RATE_LIMIT_BURST: '100000',
        // Rollups, the worker's pilot checks, drift folding and alert evaluation run every 2 s here (10 s to 60 s by
        // default) so tests need not wait; every prediction is logged so drift windows fill from a few requests, and
        // day-long windows keep one test's traffic in one window.
        ROLLUP_FLUSH_SECONDS: '2',
        DEPLOYMENT_CHECK_SECONDS: '2',
        DRIFT_FOLD_SECONDS: '2',
        ALERT_EVAL_SECONDS: '2',
        PREDICTION_LOG_SAMPLE_RATE: '1',
        DRIFT_WINDOW_MINUTES: '1440',
        // One api process: tests read one process's metrics and expect a promotion served by the api that made it.
        // The cluster (API_PROCESSES, one per core by default) has tests of its own.
        API_PROCESSES: '1',
        WORKER_METRICS_PORT: String(workerMetricsPort),
        // The e2e webhook and callback receivers listen on loopback, which outbound requests refuse by default.
        OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
        // The hostile-model test's endless Loop fails at this limit instead of the 60 s default, and the contained
        // run of models-unbounded is stopped at it.
        VALIDATION_TIMEOUT_SECONDS: '20',
        // The browser stories sign in often; the login budget itself is measured by floods-logins on its own api.
        LOGIN_GLOBAL_PER_SECOND: '20',
        // The worker keeps normal priority in tests: on a box shared with other work, nice 10 (its default, which
        // yields to the api) would leave jobs the tests wait for behind everyone else's processes.
        WORKER_NICE: '0',
        // The same for the api's silent thread: at nice 19 on a loaded box a 0.1 ms run can wait tens of ms for a
        // core, and that wall time spends SILENT_CPU_SHARE, dropping copies the comparison tests count.
        SILENT_THREAD_NICE: '0',
      };
      apps = launchApps(env, { apiPort, webPort, quiet: true });
      await waitForHttp(`http://127.0.0.1:${apiPort}/readyz`, { proc: apps[0] });
      const web = apps.find((p) => p.name === 'web');
      if (web) await waitForHttp(`http://127.0.0.1:${webPort}/login`, { proc: web });
      const testEnv = {
        E2E_API_URL: `http://127.0.0.1:${apiPort}`,
        E2E_WEB_URL: web ? `http://127.0.0.1:${webPort}` : '',
        E2E_ADMIN_EMAIL: admin.MODELYARD_ADMIN_EMAIL,
        E2E_ADMIN_PASSWORD: admin.MODELYARD_ADMIN_PASSWORD,
        E2E_ADMIN_API_KEY: admin.MODELYARD_ADMIN_API_KEY,
        E2E_STORAGE_LOCAL_ROOT: storage.env.STORAGE_LOCAL_ROOT,
        E2E_MAX_UPLOAD_BYTES: storage.env.MAX_UPLOAD_BYTES,
        E2E_WORKER_METRICS_URL: `http://127.0.0.1:${workerMetricsPort}`,
        ...platform.env,
        ...storage.env,
      };
      if (tiers.includes('e2e')) {
        exitCode |= await runNodeTests('e2e', findTests([path.join(root, 'test/dist/e2e')], '.e2e.js'), testEnv, {
          timeoutMs: 300_000,
        });
      }
      // The python tier: clients/python's pytest suite (the Python client, its packaging, the quickstart notebook)
      // in a venv made from the package index and cached under node_modules/.cache (scripts/python.mjs).
      if (tiers.includes('python')) {
        const { runPytest } = await import('./python.mjs');
        // A venv that cannot be made (no python3, no index) fails this tier only; the later tiers still run.
        const r = await runPytest(testEnv, { filter: fileFilter }).catch((e) => {
          console.error(`python: ${e.message}`);
          return { passed: 0, failed: 1, skipped: 0, code: 1 };
        });
        totals.passed += r.passed;
        totals.failed += r.failed;
        totals.skipped += r.skipped;
        if (r.code !== 0 && r.failed === 0) totals.failed += 1; // pytest itself failed (collection error, killed)
        log(`python: ${r.passed} passed, ${r.failed} failed`);
        exitCode |= r.code;
      }
      // The security tier (test/security): hostile models, proxy and SSRF probes, floods, the authz matrix over
      // a real socket. Same platform; tests that need other settings start processes of their own.
      if (tiers.includes('security')) {
        exitCode |= await runNodeTests(
          'security',
          findTests([path.join(root, 'test/dist/security')], '.sec.js'),
          testEnv,
          { timeoutMs: 300_000 },
        );
      }
      // The fault tier (test/fault): processes killed and services lost mid-work; each test starts what it kills.
      if (tiers.includes('fault')) {
        exitCode |= await runNodeTests('fault', findTests([path.join(root, 'test/dist/fault')], '.fault.js'), testEnv, {
          timeoutMs: 300_000,
        });
      }
      // The ops tier (test/ops): what an operator runs beside the platform. Debian's Prometheus (apt, like
      // redis-server) scrapes an api and a worker the test starts, loads the shipped rules and dashboards' queries.
      if (tiers.includes('ops')) {
        const { ensurePrometheus } = await import('./services.mjs');
        const bins = ensurePrometheus(log);
        exitCode |= await runNodeTests(
          'ops',
          findTests([path.join(root, 'test/dist/ops')], '.ops.js'),
          { ...testEnv, PROMETHEUS_BIN: bins.prometheus, PROMTOOL_BIN: bins.promtool },
          { timeoutMs: 300_000 },
        );
      }
      for (const p of apps) {
        // The supervisor restarts a crashed app, so a crash shows as a restart: during the tests it is a failure.
        if (p.restarts > 0 || (p.child.exitCode !== null && p.child.exitCode !== 0)) {
          console.error(`${p.name} crashed during the run (restarted ${p.restarts} time(s)):\n${p.tail()}`);
          exitCode |= 1;
        }
      }
    }
  }
} catch (e) {
  console.error(e.stack ?? e.message);
  exitCode = 1;
  totals.failed += 1;
} finally {
  await Promise.all(apps.map((p) => p.stop()));
  await stopStorage();
  if (platform) await platform.stop();
}

/**
 * Real S3-API (s3rver) and Azure Blob (Azurite) servers on loopback for the end-to-end tier, so registrations
 * to every backend are tested against something that speaks the real protocol.
 */
async function startStorageServers(freePort) {
  const { launch, waitForHttp } = await import('./platform.mjs');
  const base = path.join(root, '.data', 'test-storage');
  rmSync(base, { recursive: true, force: true });
  mkdirSync(path.join(base, 's3'), { recursive: true });
  mkdirSync(path.join(base, 'local'), { recursive: true });
  const s3Port = await freePort();
  const azPort = await freePort();
  const bin = (name) => path.join(root, 'node_modules', '.bin', name);
  const s3 = launch(
    's3',
    [
      bin('s3rver'),
      '--directory',
      path.join(base, 's3'),
      '--address',
      '127.0.0.1',
      '--port',
      String(s3Port),
      '--configure-bucket',
      'modelyard',
      '--silent',
    ],
    { quiet: true },
  );
  const az = launch(
    'azurite',
    [
      bin('azurite-blob'),
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(azPort),
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
      '--silent',
    ],
    { quiet: true },
  );
  await waitForHttp(`http://127.0.0.1:${s3Port}/`, { proc: s3 });
  await waitForHttp(`http://127.0.0.1:${azPort}/devstoreaccount1?comp=list`, { proc: az });
  const azureKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
  return {
    env: {
      STORAGE_DEFAULT: 'local',
      STORAGE_LOCAL_ROOT: path.join(base, 'local'),
      MAX_UPLOAD_BYTES: String(2 * 1024 * 1024),
      S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
      S3_REGION: 'us-east-1',
      S3_BUCKET: 'modelyard',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${azureKey};BlobEndpoint=http://127.0.0.1:${azPort}/devstoreaccount1;`,
      AZURE_CONTAINER: 'modelyard',
    },
    stop: async () => {
      await s3.stop();
      await az.stop();
    },
  };
}

/**
 * A new, migrated database beside the provisioned one (same server), or the given DATABASE_URL unchanged when the
 * server is not ours to add databases to.
 */
async function freshDatabase(env, name) {
  if (!env.EMBEDDED_PG_ADMIN_URL) return env.DATABASE_URL;
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: env.EMBEDDED_PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(env.DATABASE_URL);
  url.pathname = `/${name}`;
  const { applyMigrations } = await import('./migrations.mjs');
  await applyMigrations(url.href);
  return url.href;
}

function ensureChromium() {
  if (existsSync('/usr/lib/chromium/chromium')) return;
  if (process.getuid?.() !== 0)
    throw new Error('Chromium is needed for the dashboard tests: apt-get install -y chromium');
  log('installing Debian chromium for the browser tests (one time)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'chromium'],
  ]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`);
  }
}

const secs = Math.round((Date.now() - started) / 1000);
console.log(
  `\ntests: ${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''} (${secs} s)`,
);
process.exit(exitCode || (totals.failed ? 1 : 0));
