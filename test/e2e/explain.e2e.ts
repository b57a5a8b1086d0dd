import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { FIXTURES_DIR, registerFile, registerFixture } from '../support/fixtures.js';
import { assertMatchesOracle, oracleModel, type OracleModel } from '../support/explain-oracle.js';

const { apiUrl, adminApiKey: token } = e2eEnv();

/** The oracle's explained rows as Modelyard records. */
const payloadOf = (o: OracleModel) => o.rows.map((r) => Object.fromEntries(o.features.map((f, j) => [f, r.x[j]])));

/** The oracle's explained rows as one OIP v2 input tensor. */
const oipBodyOf = (o: OracleModel, id?: string) => ({
  ...(id && { id }),
  inputs: [
    {
      name: 'float_input',
      shape: [o.rows.length, o.features.length],
      datatype: 'FP32',
      data: o.rows.flatMap((r) => r.x),
    },
  ],
});

interface OipTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

/** OIP explain tensors back into the v1 rows (contributions [n, m, k], base_value and value [n, k]). */
function rowsOfOip(outputs: OipTensor[]) {
  const by = (name: string) => outputs.find((t) => t.name === name)!;
  const [n, m, k] = by('contributions').shape as [number, number, number];
  return Array.from({ length: n }, (_, r) => ({
    base: by('base_value').data.slice(r * k, (r + 1) * k),
    value: by('value').data.slice(r * k, (r + 1) * k),
    contributions: Array.from({ length: m }, (_, j) =>
      by('contributions').data.slice((r * m + j) * k, (r * m + j + 1) * k),
    ),
    errorBound: by('error_bound').data[r]!,
  }));
}

/** A fixture registered with the oracle's background rows as its reference dataset (so the same background). */
async function registerWithOracleBackground(fixture: string, o: OracleModel) {
  return registerFile(apiUrl, token, path.join(FIXTURES_DIR, fixture, 'model.onnx'), {
    spec: { reference: { feature_names: o.features, rows: o.background } },
  });
}

describe('explanations over HTTP, checked against the Python oracle (every coalition enumerated)', () => {
  const rf = oracleModel('iris_rf');
  const logreg = oracleModel('iris_logreg');
  const diabetes = oracleModel('diabetes_rf');
  let rfModel = '';

  before(async () => {
    rfModel = (await registerWithOracleBackground('iris_rf', rf)).model;
  });

  it('POST /explain on a random forest answers TreeSHAP values equal to the oracle within 1e-5', async () => {
    const res = await http(apiUrl, 'POST', `/v1/models/${rfModel}/explain`, {
      token,
      body: { payload: payloadOf(rf) },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.method, 'tree');
    assert.equal(res.json.exact, true);
    assert.equal(res.json.output, 'probabilities');
    assert.deepEqual(res.json.outputs, [0, 1, 2]);
    assert.deepEqual(res.json.features, rf.features);
    assert.equal(res.json.backgroundRows, 20);
    assert.equal(res.json.samples, null);
    assert.equal(res.json.version, 1);
    assertMatchesOracle(res.json.rows, rf, 1e-5);
  });

  it('the version and alias routes explain that version; the value is the prediction the predict route gives', async () => {
    const alias = await http(apiUrl, 'PUT', `/v1/models/${rfModel}/aliases/champion`, { token, body: { version: 1 } });
    assert.equal(alias.status, 200, alias.text);
    const body = { payload: payloadOf(rf) };
    const byVersion = await http(apiUrl, 'POST', `/v1/models/${rfModel}/versions/1/explain`, { token, body });
    const byAlias = await http(apiUrl, 'POST', `/v1/models/${rfModel}/aliases/champion/explain`, { token, body });
    assert.equal(byVersion.status, 200, byVersion.text);
    assert.equal(byAlias.status, 200, byAlias.text);
    assert.deepEqual(byAlias.json.rows, byVersion.json.rows);
    const predicted = await http(apiUrl, 'POST', `/v1/models/${rfModel}/predict`, { token, body });
    byVersion.json.rows.forEach((row: { value: number[] }, r: number) =>
      row.value.forEach((v, c) => assert.ok(Math.abs(v - predicted.json.predictions_prob[r][c]) < 1e-6)),
    );
  });

  it('predict with ?explain=true answers the prediction and the same explanation', async () => {
    const body = { payload: payloadOf(rf) };
    const res = await http(apiUrl, 'POST', `/v1/models/${rfModel}/predict?explain=true`, { token, body });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.predictions.length, rf.rows.length);
    assert.equal(res.json.explanation.method, 'tree');
    assertMatchesOracle(res.json.explanation.rows, rf, 1e-5);
    const plain = await http(apiUrl, 'POST', `/v1/models/${rfModel}/predict`, { token, body });
    assert.equal(plain.json.explanation, undefined);
    assert.deepEqual(plain.json.predictions, res.json.predictions);
  });

  it('a logistic regression (LinearClassifier + softmax): class probabilities explained exactly', async () => {
    const { model } = await registerWithOracleBackground('iris_logreg', logreg);
    const res = await http(apiUrl, 'POST', `/v1/models/${model}/explain`, {
      token,
      body: { payload: payloadOf(logreg) },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.method, 'exact');
    assertMatchesOracle(res.json.rows, logreg, 1e-5);
  });

  it('a 100-tree, 10-feature forest regressor: TreeSHAP equal to the oracle (1e-5 of the output scale)', async () => {
    const { model } = await registerWithOracleBackground('diabetes_rf', diabetes);
    const res = await http(apiUrl, 'POST', `/v1/models/${model}/explain`, {
      token,
      body: { payload: payloadOf(diabetes) },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.method, 'tree');
    assert.equal(res.json.output, 'variable');
    assertMatchesOracle(res.json.rows, diabetes, 1e-5 * 200);
  });

  it('a Scaler + LinearRegressor: closed-form contributions equal to the oracle (1e-5 of the output scale)', async () => {
    const linear = oracleModel('diabetes_linear');
    const { model } = await registerWithOracleBackground('diabetes_linear', linear);
    const res = await http(apiUrl, 'POST', `/v1/models/${model}/explain`, {
      token,
      body: { payload: payloadOf(linear) },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.method, 'linear');
    assertMatchesOracle(res.json.rows, linear, 1e-5 * 200);
  });

  it('a 64-feature MLP is explained by sampling, with its sample count and error bound, adding up exactly', async () => {
    const digits = oracleModel('digits_mlp');
    const { model } = await registerWithOracleBackground('digits_mlp', digits);
    const res = await http(apiUrl, 'POST', `/v1/models/${model}/explain`, {
      token,
      body: { payload: digits.rows.slice(0, 1).map((r) => r.x) },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.method, 'sampled');
    assert.equal(res.json.exact, false);
    assert.ok(res.json.samples >= 1000);
    assert.ok(res.json.rows[0].errorBound > 0);
    assertMatchesOracle(res.json.rows, { ...digits, rows: digits.rows.slice(0, 1) }, 1e-5);
  });

  it('a version registered without a reference dataset answers 409 saying explanations need one', async () => {
    const { model } = await registerFixture(apiUrl, token, 'iris_rf');
    const res = await http(apiUrl, 'POST', `/v1/models/${model}/explain`, { token, body: { payload: payloadOf(rf) } });
    assert.equal(res.status, 409, res.text);
    assert.match(res.json.error.message, /without a reference dataset/);
  });

  it('OIP v2 POST /v2/models/{m}/explain: the same TreeSHAP values as FP64 tensors, with the request id', async () => {
    const res = await http(apiUrl, 'POST', `/v2/models/${rfModel}/explain`, { token, body: oipBodyOf(rf, 'req-7') });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.model_name, rfModel);
    assert.equal(res.json.model_version, '1');
    assert.equal(res.json.id, 'req-7');
    assert.equal(res.json.parameters.method, 'tree');
    assert.equal(res.json.parameters.exact, true);
    assert.equal(res.json.parameters.explained_output, 'probabilities');
    assert.deepEqual(res.json.parameters.features, rf.features);
    const shapes = Object.fromEntries((res.json.outputs as OipTensor[]).map((t) => [t.name, [t.datatype, t.shape]]));
    assert.deepEqual(shapes, {
      contributions: ['FP64', [rf.rows.length, 4, 3]],
      base_value: ['FP64', [rf.rows.length, 3]],
      value: ['FP64', [rf.rows.length, 3]],
      error_bound: ['FP64', [rf.rows.length]],
    });
    assertMatchesOracle(rowsOfOip(res.json.outputs), rf, 1e-5);
  });

  it('OIP explain on versions/1 and versions/champion (an alias) explains it; errors are OIP-shaped', async () => {
    const byVersion = await http(apiUrl, 'POST', `/v2/models/${rfModel}/versions/1/explain`, {
      token,
      body: oipBodyOf(rf),
    });
    assert.equal(byVersion.status, 200, byVersion.text);
    assertMatchesOracle(rowsOfOip(byVersion.json.outputs), rf, 1e-5);
    await http(apiUrl, 'PUT', `/v1/models/${rfModel}/aliases/champion`, { token, body: { version: 1 } });
    const byAlias = await http(apiUrl, 'POST', `/v2/models/${rfModel}/versions/champion/explain`, {
      token,
      body: oipBodyOf(rf),
    });
    assert.equal(byAlias.status, 200, byAlias.text);
    assert.deepEqual(byAlias.json.outputs, byVersion.json.outputs);
    const wrong = await http(apiUrl, 'POST', `/v2/models/${rfModel}/explain`, {
      token,
      body: { inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
    });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(typeof wrong.json.error, 'string');
    const missing = await http(apiUrl, 'POST', `/v2/models/${rfModel}/versions/9/explain`, {
      token,
      body: oipBodyOf(rf),
    });
    assert.equal(missing.status, 404, missing.text);
    assert.equal(typeof missing.json.error, 'string');
  });

  it('OIP explain under a project-qualified URL explains that project’s model, named plainly', async () => {
    const project = uniqueId('explain-team');
    const created = await http(apiUrl, 'POST', '/v1/projects', { token, body: { name: project } });
    assert.equal(created.status, 201, created.text);
    // The version is uploaded and promoted through the project's URLs, as a client of that project would.
    const model = uniqueId('iris-rf');
    const form = new FormData();
    form.append('spec', JSON.stringify({ reference: { feature_names: rf.features, rows: rf.background } }));
    form.append('file', new Blob([readFileSync(path.join(FIXTURES_DIR, 'iris_rf', 'model.onnx'))]), 'model.onnx');
    const up = await fetch(`${apiUrl}/projects/${project}/v1/models/${model}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    assert.equal(up.status, 202, await up.text());
    const versionUrl = `/projects/${project}/v1/models/${model}/versions/1`;
    for (let i = 0; i < 100; i++) {
      if ((await http(apiUrl, 'GET', versionUrl, { token })).json.status !== 'pending') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const staged = await http(apiUrl, 'POST', `${versionUrl}/stage`, { token, body: { stage: 'Production' } });
    assert.equal(staged.status, 200, staged.text);
    const res = await http(apiUrl, 'POST', `/projects/${project}/v2/models/${model}/explain`, {
      token,
      body: oipBodyOf(rf),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.model_name, model);
    assertMatchesOracle(rowsOfOip(res.json.outputs), rf, 1e-5);
    // The same name outside the project is another (absent) model.
    const bare = await http(apiUrl, 'POST', `/v2/models/${model}/explain`, { token, body: oipBodyOf(rf) });
    assert.equal(bare.status, 404, bare.text);
  });

  it('GET …/versions/1/importance: mean |contribution| per feature over the reference rows', async () => {
    const res = await http(apiUrl, 'GET', `/v1/models/${rfModel}/versions/1/importance`, { token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.source, 'reference');
    assert.equal(res.json.rows, rf.background.length);
    assert.equal(res.json.method, 'tree');
    assert.deepEqual(res.json.features, rf.features);
    const payload = rf.background.map((x) => Object.fromEntries(rf.features.map((f, j) => [f, x[j]])));
    const explained = await http(apiUrl, 'POST', `/v1/models/${rfModel}/versions/1/explain`, {
      token,
      body: { payload },
    });
    assert.equal(explained.status, 200, explained.text);
    rf.features.forEach((f, j) => {
      const per = [0, 1, 2].map(
        (o) =>
          explained.json.rows.reduce(
            (s: number, r: { contributions: number[][] }) => s + Math.abs(r.contributions[j]![o]!),
            0,
          ) / rf.background.length,
      );
      per.forEach((v, o) => assert.ok(Math.abs(res.json.importance[j][o] - v) <= 1e-9, `${f} output ${o}`));
      assert.ok(Math.abs(res.json.overall[j] - (per[0]! + per[1]! + per[2]!) / 3) <= 1e-9, `${f} overall`);
    });
    const none = await http(apiUrl, 'GET', `/v1/models/${rfModel}/versions/7/importance`, { token });
    assert.equal(none.status, 404, none.text);
  });

  it('importance?source=log: mean |contribution| over the rows the version answered (prediction log)', async () => {
    const { model } = await registerWithOracleBackground('iris_rf', rf);
    const early = await http(apiUrl, 'GET', `/v1/models/${model}/versions/1/importance?source=log`, { token });
    assert.equal(early.status, 409, early.text);
    // X-Entity-Id makes every request logged, whatever the sample rate.
    for (let i = 0; i < 2; i++) {
      const p = await http(apiUrl, 'POST', `/v1/models/${model}/predict`, {
        token,
        body: { payload: payloadOf(rf) },
        headers: { 'x-entity-id': rf.rows.map((_, r) => `e${i}-${r}`).join(',') },
      });
      assert.equal(p.status, 200, p.text);
    }
    let res = early;
    for (let i = 0; i < 100 && (res.status !== 200 || res.json.rows < 2 * rf.rows.length); i++) {
      await new Promise((r) => setTimeout(r, 300));
      res = await http(apiUrl, 'GET', `/v1/models/${model}/versions/1/importance?source=log`, { token });
    }
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.source, 'log');
    assert.equal(res.json.rows, 2 * rf.rows.length);
    // Each row was answered twice, so the mean over the log is the mean over the oracle's rows.
    rf.features.forEach((f, j) =>
      [0, 1, 2].forEach((o) => {
        const want = rf.rows.reduce((t, r) => t + Math.abs(r.contributions![j]![o]!), 0) / rf.rows.length;
        assert.ok(Math.abs(res.json.importance[j][o] - want) <= 1e-5, `${f} output ${o}: ${res.json.importance[j][o]}`);
      }),
    );
    const bad = await http(apiUrl, 'GET', `/v1/models/${model}/versions/1/importance?source=store`, { token });
    assert.equal(bad.status, 400, bad.text);
  });
});
