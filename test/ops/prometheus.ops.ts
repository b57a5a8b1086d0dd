import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFile, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();
const token = env.adminApiKey;
const PROMETHEUS = process.env.PROMETHEUS_BIN ?? 'prometheus';
const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';
const RULES = path.resolve('deploy/prometheus/rules.yml');
const DASHBOARDS = path.resolve('deploy/grafana/dashboards');

type Alert = { labels: Record<string, string>; state: 'pending' | 'firing' };
type Rule = { alert?: string; for?: string };

/**
 * The shipped rules with every `for` cut to 2 s: the expressions, thresholds and labels are the shipped ones, only
 * the time a condition must hold before it fires is shortened, so the test waits seconds instead of minutes.
 */
function rulesWithShortFor(): string {
  const doc = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] };
  for (const r of doc.groups.flatMap((g) => g.rules)) if (r.for) r.for = '2s';
  return stringify(doc);
}

/**
 * Debian's Prometheus (2.42) beside the platform: it scrapes an api and a worker this test starts (own Redis
 * prefix and ports, so stopping the worker disturbs no other test) every second, evaluates the shipped rules
 * every second, and the test makes the faults they describe happen: a model whose every prediction fails, then a
 * stopped worker. Alerts are read from Prometheus' /api/v1/alerts; the Grafana dashboards' queries from
 * /api/v1/query.
 */
describe('Prometheus with the shipped rules, against a running api and worker', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelyard-prometheus-'));
  const prefix = uniqueId('ops');
  let api: AppProcess | null = null;
  let worker: AppProcess | null = null;
  let prometheus: ChildProcess | null = null;
  let promLog = '';
  let apiUrl = '';
  let promUrl = '';
  let failing = '';
  let healthy = '';

  const alerts = async (): Promise<Alert[]> => {
    const r = await fetch(`${promUrl}/api/v1/alerts`);
    return ((await r.json()) as { data: { alerts: Alert[] } }).data.alerts;
  };
  const firing = (all: Alert[], name: string, labels: Record<string, string> = {}) =>
    all.some(
      (a) =>
        a.state === 'firing' &&
        a.labels.alertname === name &&
        Object.entries(labels).every(([k, v]) => a.labels[k] === v),
    );
  const query = async (expr: string) => {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; error?: string; data: { result: unknown[] } };
    assert.equal(body.status, 'success', `${expr}: ${body.error}`);
    return body.data.result;
  };
  /** Polls until `ok` holds, at most `ms`; the failure names what was awaited and what Prometheus last showed. */
  async function until(what: string, ok: () => Promise<boolean>, ms: number, traffic?: () => Promise<void>) {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) {
        const shown = (await alerts()).map((a) => `${a.labels.alertname}${JSON.stringify(a.labels)} ${a.state}`);
        assert.fail(`${what} within ${ms / 1000} s; alerts now:\n${shown.join('\n')}\nprometheus:\n${promLog}`);
      }
      if (traffic) await traffic();
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  const predict = (model: string) =>
    fetch(`${apiUrl}/v1/models/${model}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payload: records(samples('iris_logreg')).slice(0, 2) }),
    }).then((r) => r.status);

  before(async () => {
    const [apiPort, workerPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const shared = { REDIS_PREFIX: prefix, RATE_LIMIT_RPS: '100000', RATE_LIMIT_BURST: '100000' };
    worker = startApp('ops-worker', 'worker', {
      ...shared,
      WORKER_METRICS_PORT: String(workerPort),
      ALERT_EVAL_SECONDS: '2',
    });
    // One run at a time and a 10 ms budget: a prediction of the slow model (~30 ms of CPU) that waits behind
    // another is answered 503 once its budget is gone. Sequential requests to the fast model are unaffected.
    // One run per request (no micro-batching): a burst merged into one run waits behind nobody, and a run
    // (synchronous on the event loop) ends before its budget's timer can fire, so all four would be answered.
    api = startApp('ops-api', 'api', {
      ...shared,
      API_PORT: String(apiPort),
      PREDICT_TIMEOUT_MS: '10',
      MAX_INFLIGHT_RUNS: '1',
      SERVING_MICRO_BATCH_ROWS: '0',
      ROLLUP_FLUSH_SECONDS: '2',
    });
    apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitReady(`http://127.0.0.1:${workerPort}/healthz`, worker);
    await waitReady(`${apiUrl}/readyz`, api);

    // Registered through this api (validated by this worker), so it serves them as soon as they are promoted.
    healthy = (await registerFixture(apiUrl, token, 'iris_logreg', { model: uniqueId('ops-ok') })).model;
    failing = (
      await registerFile(apiUrl, token, path.resolve('test/fixtures/slow_iris.onnx'), {
        model: uniqueId('ops-failing'),
        spec: { sampleInput: records(samples('iris_logreg')).slice(0, 3) },
      })
    ).model;
    // The platform's own error-rate rule on the failing model: its alert reaches Prometheus as modelyard_alerts_firing.
    const rules = await http(apiUrl, 'PUT', `/v1/models/${failing}/alert-rules`, {
      token,
      body: { rules: [{ kind: 'error_rate', above: 0.5, windowMinutes: 1, minRequests: 5 }] },
    });
    assert.equal(rules.status, 200, rules.text);

    // Prometheus scrapes with a key that can do nothing but read metrics (a viewer with models:read).
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token,
      body: { name: uniqueId('prometheus'), role: 'viewer' },
    });
    const key = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      token,
      body: { name: 'prometheus', scopes: ['models:read'], serviceAccountId: sa.json.id },
    });
    assert.equal(key.status, 201, key.text);
    writeFileSync(path.join(dir, 'api-key'), key.json.secret);
    writeFileSync(path.join(dir, 'rules.yml'), rulesWithShortFor());
    const target = (job: string, port: number) => ({
      job_name: job,
      authorization: { credentials_file: path.join(dir, 'api-key') },
      static_configs: [{ targets: [`127.0.0.1:${port}`] }],
    });
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: [path.join(dir, 'rules.yml')],
        scrape_configs: [target('modelyard-api', apiPort), target('modelyard-worker', workerPort)],
      }),
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stderr!.on('data', (d: Buffer) => {
      promLog = (promLog + d.toString()).slice(-4000);
    });
    promUrl = `http://127.0.0.1:${promPort}`;
    const end = Date.now() + 30_000;
    while (
      (await fetch(`${promUrl}/-/ready`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      assert.ok(prometheus.exitCode === null, `prometheus exited:\n${promLog}`);
      assert.ok(Date.now() < end, `prometheus not ready in 30 s:\n${promLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    prometheus?.kill('SIGTERM');
    await api?.kill();
    await worker?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("promtool accepts the shipped rules and the compose config, and the rules' unit tests pass", () => {
    const rules = spawnSync(PROMTOOL, ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.equal(rules.status, 0, rules.stdout + rules.stderr);
    assert.match(rules.stdout, /SUCCESS: \d+ rules found/);
    // Thresholds on synthetic series: what fires at which value, what stays quiet (silent traffic, 1% errors).
    const unit = spawnSync(PROMTOOL, ['test', 'rules', path.resolve('deploy/prometheus/rules.test.yml')], {
      encoding: 'utf8',
    });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    // deploy/prometheus/prometheus.yml names its key and rule files by their paths inside the container.
    const config = readFileSync(path.resolve('deploy/prometheus/prometheus.yml'), 'utf8')
      .replaceAll('/etc/prometheus/api-key', path.join(dir, 'api-key'))
      .replaceAll('/etc/prometheus/rules.yml', RULES);
    writeFileSync(path.join(dir, 'compose-prometheus.yml'), config);
    const check = spawnSync(PROMTOOL, ['check', 'config', path.join(dir, 'compose-prometheus.yml')], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('scrapes the api and the worker with a models:read key and loads every shipped rule', async () => {
    await until('both targets up', async () => (await query('up{job=~"modelyard-.*"} == 1')).length === 2, 20_000);
    const r = await fetch(`${promUrl}/api/v1/rules`);
    const groups = ((await r.json()) as { data: { groups: { name: string; rules: { health: string }[] }[] } }).data
      .groups;
    const shipped = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: unknown[] }[] }).groups;
    assert.equal(groups.length, shipped.length);
    assert.equal(groups.flatMap((g) => g.rules).length, shipped.flatMap((g) => g.rules).length);
    assert.ok(
      groups.flatMap((g) => g.rules).every((x) => x.health !== 'err'),
      'no rule fails to evaluate',
    );
    assert.equal((await query('modelyard_info{component="api"}')).length, 1);
    assert.equal((await query('modelyard_info{component="worker"}')).length, 1);
    assert.equal((await query('process_cpu_seconds_total')).length, 2, 'standard process metric names on both');
  });

  it('a failing model (most predictions 503) fires its error-rate, fast-burn and platform alerts; a healthy one none', async () => {
    // Healthy traffic first, one request at a time.
    for (let i = 0; i < 20; i++) assert.equal(await predict(healthy), 200);
    // Then the failing model under concurrent callers: each burst of four, one runs and three time out (503).
    let answered = 0;
    let failed = 0;
    const burst = async () => {
      for (const status of await Promise.all([1, 2, 3, 4].map(() => predict(failing)))) {
        answered++;
        if (status >= 500) failed++;
      }
      await new Promise((r) => setTimeout(r, 100));
    };
    const started = Date.now();
    await until(
      'the failing model alerts',
      async () => {
        const all = await alerts();
        return (
          firing(all, 'ModelyardModelErrorRateHigh', { model: failing }) &&
          firing(all, 'ModelyardErrorBudgetBurnFast', { model: failing }) &&
          firing(all, 'ModelyardPerformanceAlertFiring', { model: failing, kind: 'error_rate' })
        );
      },
      60_000,
      burst,
    );
    console.log(
      `failing model: ${failed} of ${answered} predictions answered 5xx; ` +
        `alerts fired ${Date.now() - started} ms after the fault began`,
    );
    const all = await alerts();
    assert.ok(!firing(all, 'ModelyardModelErrorRateHigh', { model: healthy }), 'the healthy model does not alert');
    assert.ok(!firing(all, 'ModelyardWorkerDown'), 'the worker is up');
  });

  it('answers every query of the Grafana dashboards with series', async () => {
    let checked = 0;
    const empty: string[] = [];
    for (const f of readdirSync(DASHBOARDS).filter((x) => x.endsWith('.json'))) {
      const d = JSON.parse(readFileSync(path.join(DASHBOARDS, f), 'utf8')) as {
        panels: { title: string; targets?: { expr: string }[] }[];
      };
      for (const p of d.panels) {
        for (const t of p.targets ?? []) {
          // Grafana's variables as a user with "All" selected would send them.
          const expr = t.expr
            .replaceAll('$__rate_interval', '30s')
            .replaceAll('$model', '.*')
            .replaceAll('$queue', '.*');
          if ((await query(expr)).length === 0) empty.push(`${f} "${p.title}": ${expr}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 20, `${checked} queries`);
    assert.deepEqual(empty, [], 'queries without series');
  });

  it('fires ModelyardWorkerDown and ModelyardTargetDown for the worker once the worker is stopped', async () => {
    assert.ok(!firing(await alerts(), 'ModelyardWorkerDown'));
    const stopped = Date.now();
    await worker!.kill('SIGTERM');
    await until(
      'ModelyardWorkerDown and ModelyardTargetDown{job="modelyard-worker"}',
      async () => {
        const all = await alerts();
        return firing(all, 'ModelyardWorkerDown') && firing(all, 'ModelyardTargetDown', { job: 'modelyard-worker' });
      },
      30_000,
    );
    console.log(`ModelyardWorkerDown fired ${Date.now() - stopped} ms after the worker stopped`);
    assert.ok(!firing(await alerts(), 'ModelyardApiDown'), 'the api is still there');
  });
});
