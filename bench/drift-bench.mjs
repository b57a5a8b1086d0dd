// Drift report bench: a reference profile from 10,000 rows, then 1,000,000 rows x 64 numeric features folded into
// one window (in 100,000-row batches, as the worker folds log batches) and compared. Data is generated
// deterministically and outside the timed sections. Target: fold + report well under 10 s.
//   node bench/drift-bench.mjs            (after `npx tsc -b tsconfig.build.json`)
//   DRIFT_ROWS (1000000) DRIFT_FEATURES (64) DRIFT_BATCH (100000) DRIFT_RECORD_ROWS (100000, 0 to skip)
// Prints a human summary and one `DRIFTJSON {...}` line for bench/run.mjs to parse.
import { performance } from 'node:perf_hooks';
import { buildReferenceProfile, rowsToBatch } from '../libs/server/dist/drift/drift-profile.js';
import { createWindow, foldBatch } from '../libs/server/dist/drift/drift-window.js';
import { driftReport } from '../libs/server/dist/drift/drift-metrics.js';

const ROWS = Number(process.env.DRIFT_ROWS ?? 1_000_000);
const FEATURES = Number(process.env.DRIFT_FEATURES ?? 64);
const BATCH = Number(process.env.DRIFT_BATCH ?? 100_000);
const RECORD_ROWS = Number(process.env.DRIFT_RECORD_ROWS ?? 100_000);
const REFERENCE_ROWS = 10_000;

/** mulberry32 + Box-Muller: the same numbers on every run and machine. */
function generator(seed) {
  let s = seed | 0;
  const u = () => {
    let a = (s = (s + 0x6d2b79f5) | 0);
    a = Math.imul(a ^ (a >>> 15), 1 | a);
    a = (a + Math.imul(a ^ (a >>> 7), 61 | a)) ^ a;
    return (((a ^ (a >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const names = Array.from({ length: FEATURES }, (_, j) => `f${j}`);
const schema = { features: names.map((name) => ({ name, kind: 'numeric' })), outputs: [] };

/**
 * Column j: every 4th feature is pixel-like (rounded, clipped at 0: many ties), the others continuous. In the
 * current data every 8th feature is shifted by one sd, so the report has real drift to find.
 */
function batch(rows, seed, shifted) {
  const normal = generator(seed);
  const features = {};
  names.forEach((name, j) => {
    const col = new Float64Array(rows);
    const shift = shifted && j % 8 === 0 ? 1 : 0;
    for (let i = 0; i < rows; i++) {
      const z = normal() + shift;
      col[i] = j % 4 === 3 ? Math.max(0, Math.round(4 * z + 4)) : z * (1 + j / 64) + j;
    }
    features[name] = col;
  });
  return { rows, features, outputs: {} };
}

const reference = batch(REFERENCE_ROWS, 1, false);
let t = performance.now();
const profile = buildReferenceProfile(schema, reference);
const profileSeconds = (performance.now() - t) / 1000;

const window = createWindow(profile, { seed: 7 });
let foldSeconds = 0;
for (let done = 0, k = 0; done < ROWS; done += BATCH, k++) {
  const b = batch(Math.min(BATCH, ROWS - done), 100 + k, true);
  t = performance.now();
  foldBatch(window, profile, b);
  foldSeconds += (performance.now() - t) / 1000;
}
t = performance.now();
const report = driftReport(profile, window);
const reportSeconds = (performance.now() - t) / 1000;

// The prediction-log shape (one record per row), for scale: rowsToBatch is what the worker pays on top.
let recordSeconds = null;
if (RECORD_ROWS > 0) {
  const b = batch(RECORD_ROWS, 999, true);
  const rows = Array.from({ length: RECORD_ROWS }, (_, i) => ({
    features: Object.fromEntries(names.map((n) => [n, b.features[n][i]])),
  }));
  t = performance.now();
  foldBatch(createWindow(profile), profile, rowsToBatch(profile, rows));
  recordSeconds = (performance.now() - t) / 1000;
}

const total = foldSeconds + reportSeconds;
const drifted = report.features.filter((f) => f.status === 'drift').map((f) => f.name);
console.log(
  `drift bench: ${ROWS.toLocaleString('en')} rows x ${FEATURES} numeric features, batches of ${BATCH.toLocaleString('en')}`,
);
console.log(`  reference profile (${REFERENCE_ROWS.toLocaleString('en')} rows): ${profileSeconds.toFixed(3)} s`);
console.log(`  fold:   ${foldSeconds.toFixed(3)} s (${((ROWS * FEATURES) / foldSeconds / 1e6).toFixed(1)} M values/s)`);
console.log(`  report: ${reportSeconds.toFixed(3)} s`);
console.log(`  fold + report: ${total.toFixed(3)} s`);
if (recordSeconds !== null)
  console.log(`  records -> batch -> fold, ${RECORD_ROWS.toLocaleString('en')} rows: ${recordSeconds.toFixed(3)} s`);
console.log(`  drifting: ${drifted.length}/${FEATURES} (${drifted.join(' ')}), dataset status ${report.status}`);
console.log(
  `DRIFTJSON ${JSON.stringify({ rows: ROWS, features: FEATURES, batch: BATCH, profileSeconds, foldSeconds, reportSeconds, totalSeconds: total, recordRows: RECORD_ROWS, recordSeconds, drifted: drifted.length, status: report.status })}`,
);
