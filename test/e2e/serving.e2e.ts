import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  assertClose,
  FIXTURE_NAMES,
  records,
  registerFile,
  registerFixture,
  samples,
  type FixtureName,
} from '../support/fixtures.js';

const env = e2eEnv();
const predict = (model: string, body: unknown, token = env.adminApiKey, suffix = '') =>
  http(env.apiUrl, 'POST', `/v1/models/${model}${suffix}/predict`, { token, body });

describe('serving: the Modelyard contract', () => {
  const models = {} as Record<FixtureName, { model: string; version: number }>;
  before(async () => {
    for (const f of FIXTURE_NAMES) models[f] = await registerFixture(env.apiUrl, env.adminApiKey, f);
  });

  for (const f of FIXTURE_NAMES) {
    it(`answers ${f} like scikit-learn/torch did (samples.json, within tolerance)`, async () => {
      const s = samples(f);
      const r = await predict(models[f].model, { payload: records(s) });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.predictions, s.expected.label);
      assertClose(r.json.predictions_prob, s.expected.probabilities, s.tolerance.probabilities, f);
      assert.deepEqual(r.json.classes, s.classes);
      assert.equal(r.json.version, models[f].version);
      assert.equal(r.headers.get('x-model-version'), String(models[f].version));
      assert.equal(r.headers.get('x-deployment-role'), 'production');
    });
  }

  it('accepts rows as arrays, by version and by alias, and ignores legacy fields', async () => {
    const { model, version } = models.iris_logreg;
    const s = samples('iris_logreg');
    const byVersion = await predict(
      model,
      { payload: s.input_data.float_input!.slice(0, 2), pipelineFilename: 'x.pkl', implementation: 'sklearn' },
      env.adminApiKey,
      `/versions/${version}`,
    );
    assert.equal(byVersion.status, 200, byVersion.text);
    assert.deepEqual(byVersion.json.predictions, s.expected.label.slice(0, 2));
    await http(env.apiUrl, 'PUT', `/v1/models/${model}/aliases/champion`, {
      token: env.adminApiKey,
      body: { version },
    });
    const byAlias = await predict(model, { payload: records(s).slice(0, 1) }, env.adminApiKey, '/aliases/champion');
    assert.equal(byAlias.status, 200, byAlias.text);
    assert.equal(byAlias.headers.get('x-model-version'), String(version));
  });

  it('names the row and the feature in a 400 for bad input', async () => {
    const { model } = models.iris_logreg;
    const missing = await predict(model, {
      payload: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }, { sepal_length: 1 }],
    });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.code, 'BAD_REQUEST');
    assert.match(missing.json.error.message, /Row 1: feature "sepal_width" is missing/);
    const text = await predict(model, {
      payload: [{ sepal_length: 'five', sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }],
    });
    assert.equal(text.status, 400);
    assert.match(text.json.error.message, /Row 0: feature "sepal_length" must be a finite number, got "five"/);
    const nan = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict`, {
      token: env.adminApiKey,
      body: '{"payload":[{"sepal_length":NaN}]}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(nan.status, 400);
    const noPayload = await predict(model, { rows: [] });
    assert.equal(noPayload.status, 400);
    assert.match(noPayload.json.error.message, /payload/);
  });

  it('answers 404 for an unknown model, version or alias and 503 when nothing is in Production', async () => {
    const row = { payload: records(samples('iris_logreg')).slice(0, 1) };
    assert.equal((await predict(uniqueId('nope'), row)).status, 404);
    assert.equal((await predict(models.iris_logreg.model, row, env.adminApiKey, '/versions/999')).status, 404);
    assert.equal((await predict(models.iris_logreg.model, row, env.adminApiKey, '/aliases/nobody')).status, 404);
    const unpromoted = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { promote: false });
    const r = await predict(unpromoted.model, row);
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'NOT_READY');
    assert.equal(
      (await predict(unpromoted.model, row, env.adminApiKey, `/versions/${unpromoted.version}`)).status,
      200,
    );
  });

  it('needs the predict scope and respects a key model allow-list', async () => {
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: uniqueId('app'), role: 'viewer' },
    });
    const mk = async (scopes: string[], modelAllowList: string[] = []) =>
      (
        await http(env.apiUrl, 'POST', '/v1/api-keys', {
          token: env.adminApiKey,
          body: { name: 'app', scopes, modelAllowList, serviceAccountId: sa.json.id },
        })
      ).json.secret as string;
    const row = { payload: records(samples('iris_logreg')).slice(0, 1) };
    assert.equal((await predict(models.iris_logreg.model, row, await mk(['models:read']))).status, 403);
    const limited = await mk(['predict'], [models.iris_rf.model]);
    assert.equal((await predict(models.iris_rf.model, row, limited)).status, 200);
    assert.equal((await predict(models.iris_logreg.model, row, limited)).status, 403);
  });

  it('switches to a newly promoted version at once', async () => {
    const model = uniqueId('switch');
    await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg', { model });
    const v2 = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model });
    const r = await predict(model, { payload: records(samples('iris_rf')).slice(0, 1) });
    assert.equal(r.headers.get('x-model-version'), String(v2.version));
    assert.ok((await http(env.apiUrl, 'GET', '/readyz')).json.checks.models.ok);
  });

  it('shows the traffic in Prometheus metrics, behind a key, and process metrics under standard names', async () => {
    const { model, version } = models.iris_logreg;
    assert.equal((await http(env.apiUrl, 'GET', '/metrics')).status, 401);
    const m = await http(env.apiUrl, 'GET', '/metrics', { token: env.adminApiKey });
    assert.equal(m.status, 200);
    const ok = new RegExp(
      `modelyard_request_duration_seconds_count\\{model="${model}",version="${version}",format="modelyard",role="production",route="/v1/models/:name/predict",status="200"\\} (\\d+)`,
    );
    const lines = m.text
      .split('\n')
      .filter((l) => l.includes(model) && l.startsWith('modelyard_request_duration_seconds_count'))
      .join('\n');
    assert.ok(Number(ok.exec(m.text)?.[1] ?? 0) >= 1, `successful predictions are counted:\n${lines}`);
    assert.match(m.text, /modelyard_prediction_errors_total\{code="BAD_REQUEST",format="modelyard"\} [1-9]/);
    assert.match(
      m.text,
      new RegExp(`modelyard_inference_duration_seconds_count\\{model="${model}",version="${version}"\\} [1-9]`),
    );
    assert.match(m.text, /modelyard_requests_in_flight 0/);
    // The names stock dashboards and rules look for, not modelyard_process_process_cpu_seconds_total.
    assert.match(m.text, /^process_cpu_seconds_total \d/m);
    assert.match(m.text, /^nodejs_eventloop_lag_p99_seconds \d/m);
    assert.doesNotMatch(m.text, /modelyard_process_/);
    assert.match(m.text, /^modelyard_info\{component="api"\} 1$/m);
  });

  it("exports the event loop's delay as a Prometheus histogram (how late a 10 ms timer fired)", async () => {
    const m = await http(env.apiUrl, 'GET', '/metrics', { token: env.adminApiKey });
    assert.equal(m.status, 200);
    assert.match(m.text, /^# TYPE modelyard_eventloop_delay_seconds histogram$/m);
    const bucket = (le: string) =>
      Number(
        new RegExp(`^modelyard_eventloop_delay_seconds_bucket\\{le="${le.replace('+', '\\+')}"\\} (\\d+)$`, 'm').exec(
          m.text,
        )?.[1],
      );
    const count = Number(/^modelyard_eventloop_delay_seconds_count (\d+)$/m.exec(m.text)?.[1]);
    // The api has been up for seconds: hundreds of ticks, counted cumulatively up to +Inf.
    assert.ok(count > 10, `ticks observed: ${count}`);
    assert.equal(bucket('+Inf'), count);
    assert.ok(bucket('0.001') <= bucket('0.01') && bucket('0.01') <= bucket('+Inf'));
  });

  it('rolls the traffic up per minute for the dashboard (written within ~10 s)', async () => {
    const { model, version } = models.iris_logreg;
    // The requests above may straddle a flush or a minute boundary: add up every production minute.
    let points: { count: number; p99Ms: number | null; role: string }[] = [];
    let count = 0;
    for (let i = 0; i < 40 && count < 3; i++) {
      const r = await http(env.apiUrl, 'GET', `/v1/models/${model}/metrics?version=${version}`, {
        token: env.adminApiKey,
      });
      assert.equal(r.status, 200, r.text);
      points = r.json.points.filter((p: { role: string }) => p.role === 'production');
      count = points.reduce((a, p) => a + p.count, 0);
      if (count < 3) await new Promise((res) => setTimeout(res, 500));
    }
    assert.ok(points.length > 0, 'a rollup row appeared');
    assert.ok(count >= 3, `count ${count}`);
    assert.ok(points.every((p) => p.p99Ms !== null && p.p99Ms > 0));
  });

  for (const fixture of ['zipmap_int', 'zipmap_str']) {
    it(`serves the probabilities of a scikit-learn ZipMap classifier (${fixture})`, async () => {
      const dir = path.resolve('libs/server/src/onnx/fixtures');
      const j = JSON.parse(readFileSync(path.join(dir, `${fixture}.json`), 'utf8'));
      const { model } = await registerFile(env.apiUrl, env.adminApiKey, path.join(dir, `${fixture}.onnx`));
      const r = await predict(model, { payload: j.input_data.float_input });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.predictions, j.expected.output_label);
      assertClose(r.json.predictions_prob, j.expected.output_probability, j.tolerance.output_probability, fixture);
      assert.deepEqual(r.json.classes, j.classes);
    });
  }

  it('micro-batches concurrent requests when the model asks for it, and every caller gets its own answer', async () => {
    const s = samples('iris_logreg');
    const { model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const on = await http(env.apiUrl, 'PATCH', `/v1/models/${model}`, {
      token: env.adminApiKey,
      body: { servingConfig: { microBatch: { maxBatchRows: 32, maxWaitUs: 2000 } } },
    });
    assert.equal(on.status, 200, on.text);
    assert.deepEqual(on.json.servingConfig, { microBatch: { maxBatchRows: 32, maxWaitUs: 2000 } });
    const rows = records(s);
    const answers = await Promise.all(rows.map((row) => predict(model, { payload: [row] })));
    answers.forEach((r, i) => {
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.predictions, [s.expected.label[i]], `row ${i}`);
      assertClose(r.json.predictions_prob, [s.expected.probabilities[i]!], s.tolerance.probabilities, `row ${i}`);
    });
    const bad = await http(env.apiUrl, 'PATCH', `/v1/models/${model}`, {
      token: env.adminApiKey,
      body: { servingConfig: { microBatch: { maxBatchRows: 1, maxWaitUs: 10 } } },
    });
    assert.equal(bad.status, 400);
    // Only false turns it off: true (or any other value) is no setting.
    for (const microBatch of [true, 'off', 0])
      assert.equal(
        (
          await http(env.apiUrl, 'PATCH', `/v1/models/${model}`, {
            token: env.adminApiKey,
            body: { servingConfig: { microBatch } },
          })
        ).status,
        400,
        JSON.stringify(microBatch),
      );
  });

  it('by default shares runs among requests that arrive together, each caller getting its own answer; microBatch false runs each alone', async () => {
    const s = samples('iris_logreg');
    const { model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const merged = async () => {
      const text = (await http(env.apiUrl, 'GET', '/metrics', { token: env.adminApiKey })).text;
      const count = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      return {
        runs: count('modelyard_micro_batch_runs_total'),
        requests: count('modelyard_micro_batch_requests_total'),
      };
    };
    const rows = records(s);
    /** Every sample row as its own request, all at once; each answer checked against scikit-learn's. */
    const burst = async () => {
      const answers = await Promise.all(rows.map((row) => predict(model, { payload: [row] })));
      answers.forEach((r, i) => {
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.predictions, [s.expected.label[i]], `row ${i}`);
        assertClose(r.json.predictions_prob, [s.expected.probabilities[i]!], s.tolerance.probabilities, `row ${i}`);
      });
    };
    const before = await merged();
    assert.ok(
      Number.isFinite(before.runs) && Number.isFinite(before.requests),
      'the micro-batch counters are exported',
    );
    // Requests that the api reads in one turn of its event loop share a run; a burst may be read a few at a time.
    let now = before;
    for (let i = 0; i < 5 && now.runs === before.runs; i++) {
      await burst();
      now = await merged();
    }
    assert.ok(now.runs > before.runs, 'some runs served several requests');
    assert.ok(now.requests - before.requests >= 2 * (now.runs - before.runs), `${JSON.stringify({ before, now })}`);

    const off = await http(env.apiUrl, 'PATCH', `/v1/models/${model}`, {
      token: env.adminApiKey,
      body: { servingConfig: { microBatch: false } },
    });
    assert.equal(off.status, 200, off.text);
    assert.deepEqual(off.json.servingConfig, { microBatch: false });
    // The api hears of the change by pub/sub a moment after it answered: wait for a burst that merges nothing.
    for (let i = 0; i < 50; i++) {
      now = await merged();
      await burst();
      if ((await merged()).runs === now.runs) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await burst();
    await burst();
    assert.deepEqual(await merged(), now, 'with microBatch false no run serves two requests');
  });
});
