import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSession, type Session } from '../engine/index.js';
import { readGraphModel } from './explain-graph.js';
import { sessionEvaluate, VersionExplainer, type ExplainerLimits } from './explainer.js';
import { linearGraph, normalizerGraph, oneHotGraph, scalerGraph } from './closed-form-graphs.test-support.js';

const LIMITS: ExplainerLimits = { exactMaxFeatures: 10, maxEvaluations: 200_000, samples: 1000 };

interface Case {
  bytes: Uint8Array;
  session: Session;
  m: number;
}

async function load(bytes: Uint8Array, m: number): Promise<Case> {
  return { bytes, session: await createSession(Buffer.from(bytes)), m };
}

function explainer(c: Case, background: number[][], k: number) {
  const io = { input: 'x', output: 'y', features: Array.from({ length: c.m }, (_, j) => `f${j}`), outputs: [] };
  const outputs = Array.from({ length: k }, (_, i) => i);
  return new VersionExplainer(
    { ...io, outputs },
    readGraphModel(c.bytes, c.m),
    Float32Array.from(background.flat()),
    sessionEvaluate(c.session, { ...io, outputs }),
    LIMITS,
  );
}

const near = (a: number, b: number, what: string, tol = 1e-6) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, by hand ${b}`);

/** The explanation equals the hand-computed one, and its value is what onnxruntime answers for the row. */
async function check(c: Case, ex: VersionExplainer, x: number[], want: { base: number[]; contributions: number[][] }) {
  const got = await ex.explainRow(Float32Array.from(x));
  const ort = await sessionEvaluate(c.session, ex.io)(Float32Array.from(x), 1);
  want.base.forEach((b, o) => {
    near(got.base[o]!, b, `base ${o}`);
    want.contributions.forEach((cj, j) => near(got.contributions[j]![o]!, cj[o]!, `feature ${j} output ${o}`));
    near(got.value[o]!, ort[o]!, `value ${o} against onnxruntime`, 1e-5);
    const sum = got.contributions.reduce((s, cj) => s + cj[o]!, got.base[o]!);
    near(sum, got.value[o]!, `base + contributions, output ${o}`);
  });
}

describe('closed-form explanations of MatMul+Add graphs (after Scaler, OneHotEncoder, Normalizer)', () => {
  let linear: Case;
  let scaler: Case;
  let oneHot: Case;
  let normalizer: Case;
  before(async () => {
    linear = await load(linearGraph(), 3);
    scaler = await load(scalerGraph(), 3);
    oneHot = await load(oneHotGraph(), 2);
    normalizer = await load(normalizerGraph(), 3);
  });

  it('MatMul+Add: contributions W (x - mean) in closed form, the base f(mean)', async () => {
    // Background [0,0,0], [2,4,2]: mean [1,2,1]; x [3,1,2]: x - mean = [2,-1,1].
    const ex = explainer(
      linear,
      [
        [0, 0, 0],
        [2, 4, 2],
      ],
      2,
    );
    assert.equal(ex.method, 'linear');
    await check(linear, ex, [3, 1, 2], {
      // base_0 = 0.5 + 1*1 + 3*2 + 0.5*1 = 8; base_1 = -1 + 2*1 - 1*2 + 0 = -1
      base: [8, -1],
      // output 0: 1*2, 3*-1, 0.5*1; output 1: 2*2, -1*-1, 0*1
      contributions: [
        [2, 4],
        [-3, 1],
        [0.5, 0],
      ],
    });
  });

  it('Scaler then MatMul (no Add): the scale folded into the weights, the offset into the base', async () => {
    // f = 2(x0-1) + 2(x1-1) + 2(x2-1); mean [1,2,1] gives base 2; x [3,1,2]: 2 (x - mean) = [4, -2, 2].
    const ex = explainer(
      scaler,
      [
        [0, 0, 0],
        [2, 4, 2],
      ],
      1,
    );
    assert.equal(ex.method, 'linear');
    await check(scaler, ex, [3, 1, 2], { base: [2], contributions: [[4], [-2], [2]] });
  });

  it('OneHotEncoder then MatMul+Add: a feature’s weight for its category minus its background mean', async () => {
    // Background categories (x0, x1): (0,0) (1,2) (2,2) (5,1); 5 is no category (all zeros).
    // Feature 0's weights 1, 2, 3, 0: mean 1.5; feature 1's 10, 30, 30, 20: mean 22.5. Base 100 + 1.5 + 22.5 = 124.
    // x = (2, 0): feature 0 weighs 3 (3 - 1.5 = 1.5), feature 1 weighs 10 (10 - 22.5 = -12.5); f = 113.
    const ex = explainer(
      oneHot,
      [
        [0, 0],
        [1, 2],
        [2, 2],
        [5, 1],
      ],
      1,
    );
    assert.equal(ex.method, 'linear');
    assert.equal(readGraphModel(oneHot.bytes, 2)?.kind, 'additive');
    await check(oneHot, ex, [2, 0], { base: [124], contributions: [[1.5], [-12.5]] });
  });

  it('Normalizer then MatMul+Add: no closed form (the norm couples features), exact from the graph', async () => {
    // f(x) = (x0 + 2 x1 + 3 x2) / (|x0| + |x1| + |x2|); background z = (1,1,1), f(z) = 2; x = (2, 0, 1).
    // v({0}) = f(2,1,1) = 7/4, v({1}) = f(1,0,1) = 2, v({0,1}) = f(2,0,1) = 5/3; x2 = z2, so feature 2 is a dummy.
    // phi_0 = ((7/4 - 2) + (5/3 - 2)) / 2 = -7/24; phi_1 = ((2 - 2) + (5/3 - 7/4)) / 2 = -1/24; phi_2 = 0.
    const ex = explainer(normalizer, [[1, 1, 1]], 1);
    assert.equal(ex.method, 'exact');
    assert.equal(readGraphModel(normalizer.bytes, 3)?.kind, 'function');
    await check(normalizer, ex, [2, 0, 1], { base: [2], contributions: [[-7 / 24], [-1 / 24], [0]] });
  });

  it('a graph with more after the Add (an MLP’s activation) is not read: the model is run instead', async () => {
    // digits_mlp starts with MatMul+Add too; its Relu ends the chain.
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { SHARED_MODELS_DIR } = await import('../onnx/onnx.test-support.js');
    const bytes = readFileSync(path.join(SHARED_MODELS_DIR, 'digits_mlp', 'model.onnx'));
    assert.equal(readGraphModel(bytes, 64), null);
  });
});
