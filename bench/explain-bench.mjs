// Explanation bench (issue 18): per-row explain time of each method on the fixture models, in-process, the
// explainer the api runs (libs/server/dist/explain) with its defaults: 100 background rows from each model's
// reference.json, 1000 samples for the sampled method. Each row explained once to warm, then timed.
//   node bench/explain-bench.mjs            (after `npx tsc -b tsconfig.build.json`)
//   EXPLAIN_BENCH_ROWS (20) rows timed per model
// Prints a human summary and one `EXPLAINJSON {...}` line for bench/run.mjs to parse.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSession } from '../libs/server/dist/engine/index.js';
import { readGraphModel } from '../libs/server/dist/explain/explain-graph.js';
import { sessionEvaluate, VersionExplainer } from '../libs/server/dist/explain/explainer.js';

const ROWS = Number(process.env.EXPLAIN_BENCH_ROWS ?? 20);
const BACKGROUND = 100;
const LIMITS = { exactMaxFeatures: 10, maxEvaluations: 200_000, samples: 1000 };
const dir = path.resolve('test/fixtures/models');

const CASES = [
  { model: 'diabetes_rf', what: 'random forest, 100 trees (depth 6), 10 features', output: 'variable' },
  { model: 'diabetes_linear', what: 'Scaler + LinearRegressor, 10 features', output: 'variable' },
  { model: 'iris_logreg', what: 'LinearClassifier + softmax probabilities, 4 features', output: 'probabilities' },
  { model: 'iris_rf', what: 'random forest, 20 trees, 4 features', output: 'probabilities' },
  { model: 'digits_mlp', what: 'MLP 64-128-64-10, 64 features (onnxruntime)', output: 'probabilities' },
  // The same forest without reading its graph: every coalition run through onnxruntime, for comparison.
  {
    model: 'diabetes_rf',
    what: 'the same 100-tree forest by enumeration (onnxruntime)',
    output: 'variable',
    raw: true,
  },
];

async function explainer(c) {
  const bytes = readFileSync(path.join(dir, c.model, 'model.onnx'));
  const ref = JSON.parse(readFileSync(path.join(dir, c.model, 'reference.json'), 'utf8'));
  const m = ref.feature_names.length;
  const session = await createSession(bytes);
  const background = Float32Array.from(ref.rows.slice(0, BACKGROUND).flat());
  const io = { input: session.inputNames[0], output: c.output, features: ref.feature_names, outputs: [] };
  const evaluate = sessionEvaluate(session, io);
  const k = (await evaluate(background.subarray(0, m), 1)).length;
  io.outputs = Array.from({ length: k }, (_, i) => i);
  const graph = c.raw ? null : readGraphModel(bytes, m);
  const limits = c.raw ? { ...LIMITS, maxEvaluations: 10_000_000 } : LIMITS;
  return { ex: new VersionExplainer(io, graph, background, evaluate, limits), rows: ref.rows.slice(-ROWS) };
}

const results = [];
for (const c of CASES) {
  const { ex, rows } = await explainer(c);
  const n = c.raw ? Math.min(3, rows.length) : rows.length;
  await ex.explainRow(Float32Array.from(rows[0]));
  const times = [];
  for (const row of rows.slice(0, n)) {
    const t = performance.now();
    await ex.explainRow(Float32Array.from(row));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const r = {
    model: c.model,
    what: c.what,
    method: ex.method,
    rows: n,
    medianMs: times[Math.floor(times.length / 2)],
    maxMs: times[times.length - 1],
  };
  results.push(r);
  console.log(`${r.model} (${r.method}): median ${r.medianMs.toFixed(2)} ms per row, max ${r.maxMs.toFixed(2)} ms`);
}
console.log(`EXPLAINJSON ${JSON.stringify({ background: BACKGROUND, samples: LIMITS.samples, results })}`);
