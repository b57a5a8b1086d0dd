import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { e2eEnv, http } from '@modelyard/testing';
import { FIXTURES_DIR, registerFile, registerFixture } from '../support/fixtures.js';
import { assertMatchesOracle, oracleModel, type OracleModel } from '../support/explain-oracle.js';

const { apiUrl, adminApiKey: token } = e2eEnv();

/** The oracle's explained rows as Modelyard records. */
const payloadOf = (o: OracleModel) => o.rows.map((r) => Object.fromEntries(o.features.map((f, j) => [f, r.x[j]])));

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
});
