import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SHARED_MODELS_DIR } from '../onnx/onnx.test-support.js';
import { createSession } from '../engine/index.js';
import { readGraphModel } from './explain-graph.js';
import { sessionEvaluate, VersionExplainer, type ExplainerLimits } from './explainer.js';

/** test/fixtures/explain/oracle.json, written by scripts/explain-oracle/oracle.py (Python, every coalition). */
interface OracleRow {
  x: number[];
  base: number[];
  value: number[];
  contributions?: number[][];
}
interface OracleModel {
  output: string;
  features: string[];
  background: number[][];
  rows: OracleRow[];
}
const oracle = JSON.parse(readFileSync(path.join(SHARED_MODELS_DIR, '..', 'explain', 'oracle.json'), 'utf8')) as {
  models: Record<string, OracleModel>;
};

const LIMITS: ExplainerLimits = { exactMaxFeatures: 10, maxEvaluations: 200_000, samples: 1000 };

async function explainerFor(model: string, limits: ExplainerLimits = LIMITS, useGraph = true) {
  const o = oracle.models[model]!;
  const bytes = readFileSync(path.join(SHARED_MODELS_DIR, model, 'model.onnx'));
  const session = await createSession(bytes);
  const m = o.features.length;
  const k = o.rows[0]!.value.length;
  const io = {
    input: session.inputNames[0]!,
    output: o.output,
    features: o.features,
    outputs: Array.from({ length: k }, (_, i) => i),
  };
  const graph = useGraph ? readGraphModel(bytes, m) : null;
  const background = Float32Array.from(o.background.flat());
  return new VersionExplainer(io, graph, background, sessionEvaluate(session, io), limits);
}

/**
 * Every contribution within `tol` of the oracle's; base and output within 1e-5 (relative to the output's size: a
 * regressor's values in the hundreds are summed in float32 by onnxruntime), and base + contributions = output.
 */
async function check(ex: VersionExplainer, o: OracleModel, tol: (bound: number) => number) {
  for (const row of o.rows) {
    const got = await ex.explainRow(Float32Array.from(row.x));
    for (let out = 0; out < row.value.length; out++) {
      const eps = 1e-5 * Math.max(1, Math.abs(row.value[out]!));
      assert.ok(Math.abs(got.base[out]! - row.base[out]!) < eps, `base ${got.base[out]} vs ${row.base[out]}`);
      assert.ok(Math.abs(got.value[out]! - row.value[out]!) < eps, `value ${got.value[out]} vs ${row.value[out]}`);
      const sum = got.contributions.reduce((s, c) => s + c[out]!, got.base[out]!);
      assert.ok(Math.abs(sum - got.value[out]!) < eps, `sum ${sum}`);
      row.contributions?.forEach((c, j) => {
        const d = Math.abs(got.contributions[j]![out]! - c[out]!);
        assert.ok(
          d <= tol(got.errorBound),
          `${o.features[j]} output ${out}: ${got.contributions[j]![out]} vs ${c[out]}`,
        );
      });
    }
  }
}

describe(VersionExplainer.name, () => {
  it('explains the iris logistic regression (LinearClassifier + softmax) exactly, read from its graph', async () => {
    const ex = await explainerFor('iris_logreg');
    assert.equal(ex.method, 'exact');
    await check(ex, oracle.models.iris_logreg!, () => 1e-5);
  });

  it('explains the iris random forest by TreeSHAP, equal to the oracle within 1e-5', async () => {
    const ex = await explainerFor('iris_rf');
    assert.equal(ex.method, 'tree');
    await check(ex, oracle.models.iris_rf!, () => 1e-5);
  });

  it('explains the 100-tree, 10-feature diabetes forest by TreeSHAP, equal to the oracle within 1e-5', async () => {
    const ex = await explainerFor('diabetes_rf');
    assert.equal(ex.method, 'tree');
    // Regression values are in the hundreds (about 140 here): 1e-5 relative to the output's size.
    await check(ex, oracle.models.diabetes_rf!, () => 1e-5 * 200);
  });

  it('explains a Scaler + LinearRegressor in closed form, equal to the oracle within 1e-5', async () => {
    const ex = await explainerFor('diabetes_linear');
    assert.equal(ex.method, 'linear');
    await check(ex, oracle.models.diabetes_linear!, () => 1e-5 * 200);
  });

  it('explains a model it does not read (iris forest run by onnxruntime) by enumeration, equal to the oracle', async () => {
    const ex = await explainerFor('iris_rf', LIMITS, false);
    assert.equal(ex.method, 'exact');
    await check(ex, oracle.models.iris_rf!, () => 1e-5);
  });

  it('sampled contributions are within their reported bound of the exact ones, and still add up exactly', async () => {
    const ex = await explainerFor('iris_logreg', { ...LIMITS, exactMaxFeatures: 2 }, false);
    assert.equal(ex.method, 'sampled');
    assert.equal(ex.samples, 1000);
    await check(ex, oracle.models.iris_logreg!, (bound) => {
      assert.ok(bound > 0 && bound < 0.05, `bound ${bound}`);
      return bound;
    });
  });

  it('explains the 64-feature digits MLP by sampling: base and output as the oracle has them', async () => {
    const ex = await explainerFor('digits_mlp', { ...LIMITS, samples: 100 });
    assert.equal(ex.method, 'sampled');
    await check(ex, oracle.models.digits_mlp!, () => 0);
  });

  it('refuses a row with a value that is not finite', async () => {
    const ex = await explainerFor('iris_rf');
    await assert.rejects(ex.explainRow(Float32Array.from([1, NaN, 1, 1])), /sepal_width is NaN/);
  });
});
