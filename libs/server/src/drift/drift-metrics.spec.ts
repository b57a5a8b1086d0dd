import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildReferenceProfile, type DriftSchema } from './drift-profile.js';
import { createWindow, foldBatch } from './drift-window.js';
import { DEFAULT_DRIFT_THRESHOLDS, driftReport, driftStatus, jensenShannon, psi } from './drift-metrics.js';
import { assertClose, batchOf, expected, normals } from './drift-test-support.js';

const numericSchema: DriftSchema = { features: [{ name: 'x', kind: 'numeric' }], outputs: [] };

/** Reference and current folded for one column, with samples large enough to hold every value (as scipy saw them). */
function reportOf(schema: DriftSchema, reference: ArrayLike<unknown>, current: ArrayLike<unknown>, maxCategories = 50) {
  const name = schema.features[0]!.name;
  const profile = buildReferenceProfile(schema, batchOf(name, reference), { sampleSize: 5000, maxCategories });
  return driftReport(profile, foldBatch(createWindow(profile), profile, batchOf(name, current)));
}

describe('psi', () => {
  it('matches the fixture (proportions clamped at 1e-4) on every case', () => {
    for (const c of [...expected.numeric, ...expected.categorical])
      assertClose(psi(c.referenceCounts, c.currentCounts), c.psi, c.name, 1e-12, 1e-15);
  });

  it('is 0 for identical histograms and null for an empty one', () => {
    assert.equal(psi([3, 0, 5], [6, 0, 10]), 0);
    assert.equal(psi([1, 2], [0, 0]), null);
  });
});

describe('jensenShannon', () => {
  it('matches scipy.spatial.distance.jensenshannon(base=2) on every case', () => {
    for (const c of [...expected.numeric, ...expected.categorical])
      assertClose(jensenShannon(c.referenceCounts, c.currentCounts), c.js, c.name, 1e-12, 1e-15);
  });

  it('is 0 for identical and 1 for disjoint histograms', () => {
    assert.equal(jensenShannon([1, 2, 3], [2, 4, 6]), 0);
    assertClose(jensenShannon([1, 0], [0, 1]), 1, 'disjoint', 1e-15);
  });
});

describe('driftStatus', () => {
  const t = DEFAULT_DRIFT_THRESHOLDS;
  const cases: [number, number, number | null, string][] = [
    [0.3, 0.2, 0.001, 'drift'],
    [0.3, 0.2, 0.2, 'ok'], // big but not significant: a small, noisy window
    [0.3, 0.05, 0.001, 'warn'], // PSI inflated by an empty reference bin, JS small
    [0.15, 0.05, 0.001, 'warn'],
    [0.05, 0.12, 0.001, 'warn'],
    [0.05, 0.05, 1e-10, 'ok'], // significant but tiny: a huge window
    [0.3, 0.2, null, 'drift'], // no test possible (all missing): PSI and JS decide
  ];
  for (const [p, js, pValue, want] of cases) {
    it(`PSI ${p}, JS ${js}, p ${pValue} -> ${want}`, () => assert.equal(driftStatus({ psi: p, js, pValue }, t), want));
  }
});

describe('driftReport', () => {
  it('reproduces scipy end to end on the numeric fixtures (bins, PSI, JS, KS asymp)', () => {
    for (const c of expected.numeric) {
      const f = reportOf(numericSchema, c.reference, c.current).features[0]!;
      assertClose(f.psi, c.psi, `${c.name} psi`, 1e-12, 1e-15);
      assertClose(f.js, c.js, `${c.name} js`, 1e-12, 1e-15);
      assertClose(f.statistic, c.ks.statistic, `${c.name} D`, 1e-12, 0);
      assertClose(f.pValue, c.ks.pValue, `${c.name} p`, 1e-9, 1e-290);
      assert.equal(f.test, 'ks');
    }
  });

  it('reproduces scipy end to end on the categorical fixtures (PSI, JS, chi2_contingency)', () => {
    for (const c of expected.categorical) {
      const schema: DriftSchema = { features: [{ name: 'c', kind: 'categorical' }], outputs: [] };
      const f = reportOf(schema, c.reference, c.current, c.maxCategories).features[0]!;
      assertClose(f.psi, c.psi, `${c.name} psi`, 1e-12, 1e-15);
      assertClose(f.js, c.js, `${c.name} js`, 1e-12, 1e-15);
      assertClose(f.statistic, c.chi2.statistic, `${c.name} chi2`, 1e-12, 1e-12);
      assertClose(f.pValue, c.chi2.pValue, `${c.name} p`, 1e-10, 1e-300);
      assert.equal(f.test, 'chi2');
    }
  });

  it('finds nothing between identical samples', () => {
    const x = normals(5000, 3, 2, 11);
    const f = reportOf(numericSchema, x, x).features[0]!;
    assert.equal(f.psi, 0);
    assert.equal(f.js, 0);
    assert.equal(f.status, 'ok');
  });

  it('finds nothing between two samples of the same distribution', () => {
    const r = reportOf(numericSchema, normals(5000, 0, 1, 1), normals(5000, 0, 1, 2));
    assert.ok(r.features[0]!.psi! < 0.02, `psi ${r.features[0]!.psi}`);
    assert.equal(r.status, 'ok');
  });

  it('calls a one-sd mean shift drift: PSI past 0.25, KS significant', () => {
    const f = reportOf(numericSchema, normals(5000, 0, 1, 1), normals(5000, 1, 1, 2)).features[0]!;
    assert.ok(f.psi! > DEFAULT_DRIFT_THRESHOLDS.psi.drift, `psi ${f.psi}`);
    assert.ok(f.statistic! > 0.3 && f.pValue! < 1e-10, `D ${f.statistic}, p ${f.pValue}`);
    assert.equal(f.status, 'drift');
  });

  it('shares drift over features, reports outputs apart, and says ok for an empty window', () => {
    const schema: DriftSchema = {
      features: ['a', 'b', 'c', 'd'].map((name) => ({ name, kind: 'numeric' as const })),
      outputs: [{ name: 'label', kind: 'categorical' }],
    };
    const ref = {
      rows: 3000,
      features: {
        a: normals(3000, 0, 1, 1),
        b: normals(3000, 0, 1, 2),
        c: normals(3000, 0, 1, 3),
        d: normals(3000, 0, 1, 4),
      },
      outputs: { label: Array.from({ length: 3000 }, (_, i) => i % 3) },
    };
    const profile = buildReferenceProfile(schema, ref);
    assert.deepEqual(
      { ...driftReport(profile, createWindow(profile)), features: [], outputs: [] },
      {
        rows: 0,
        status: 'ok',
        driftShare: 0,
        driftedFeatures: 0,
        evaluatedFeatures: 0,
        features: [],
        outputs: [],
        thresholds: DEFAULT_DRIFT_THRESHOLDS,
      },
    );
    const cur = (shifted: number) => ({
      rows: 3000,
      outputs: { label: Array.from({ length: 3000 }, (_, i) => (i % 4 === 0 ? 2 : i % 2)) },
      features: Object.fromEntries(
        ['a', 'b', 'c', 'd'].map((n, i) => [n, normals(3000, i < shifted ? 2 : 0, 1, 10 + i)]),
      ),
    });
    const two = driftReport(profile, foldBatch(createWindow(profile), profile, cur(2)));
    assert.deepEqual(
      two.features.map((f) => f.status),
      ['drift', 'drift', 'ok', 'ok'],
    );
    assert.deepEqual([two.driftShare, two.driftedFeatures, two.evaluatedFeatures, two.status], [0.5, 2, 4, 'drift']);
    assert.equal(two.outputs[0]!.test, 'chi2');
    const one = driftReport(profile, foldBatch(createWindow(profile), profile, cur(1)));
    assert.deepEqual([one.driftShare, one.status], [0.25, 'warn']);
  });

  it('calls a feature that arrives all missing drift', () => {
    const f = reportOf(numericSchema, normals(1000, 0, 1, 1), new Array(200).fill(null)).features[0]!;
    assert.equal(f.pValue, null);
    assert.equal(f.status, 'drift');
    assert.equal(f.current.missingRate, 1);
  });

  it('is JSON all the way down', () => {
    const r = reportOf(numericSchema, normals(300, 0, 1, 1), normals(300, 0.2, 1, 2));
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });
});
