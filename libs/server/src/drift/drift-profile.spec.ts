import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  binIndex,
  buildReferenceProfile,
  quantileEdges,
  referenceBatch,
  rowsToBatch,
  type NumericProfile,
  type CategoricalProfile,
} from './drift-profile.js';
import { assertClose, batchOf, expected, normals } from './drift-test-support.js';

const numericSchema = (name = 'x') => ({ features: [{ name, kind: 'numeric' as const }], outputs: [] });

describe('quantileEdges', () => {
  it('reproduces numpy.quantile(linear) + unique on every fixture, ties and constants included', () => {
    for (const c of expected.numeric) {
      const sorted = Float64Array.from(c.reference.filter((v): v is number => v !== null)).sort();
      assert.deepEqual(quantileEdges(sorted, expected.bins), c.edges, c.name);
    }
  });

  it('collapses a constant column to one edge', () => {
    assert.deepEqual(quantileEdges([4, 4, 4, 4], 10), [4]);
    assert.deepEqual(quantileEdges([], 10), []);
  });
});

describe('binIndex', () => {
  it('uses right-closed bins with open ends', () => {
    const edges = [0, 2, 5];
    assert.deepEqual(
      [-100, 0, 0.1, 2, 4.9, 5, 5.1, 1e9].map((x) => binIndex(edges, x)),
      [0, 0, 1, 1, 2, 2, 3, 3],
    );
  });
});

describe('buildReferenceProfile', () => {
  it('counts numeric fixtures into the same bins as numpy (missing as the last bin) with the same mean and std', () => {
    for (const c of expected.numeric) {
      const p = buildReferenceProfile(numericSchema(), batchOf('x', c.reference), { sampleSize: 5000 })
        .features[0] as NumericProfile;
      assert.deepEqual([...p.counts, p.missing], c.referenceCounts, c.name);
      assertClose(p.mean, c.reference_mean, `${c.name} mean`, 1e-12, 1e-15);
      assertClose(p.std, c.reference_std, `${c.name} std`, 1e-12, 1e-15);
      assert.equal(p.missingRate, p.missing / c.reference.length);
    }
  });

  it('ranks categories by frequency (ties by label) and puts the rest in "other", like the fixture', () => {
    for (const c of expected.categorical) {
      const schema = { features: [{ name: 'c', kind: 'categorical' as const }], outputs: [] };
      const p = buildReferenceProfile(schema, batchOf('c', c.reference), { maxCategories: c.maxCategories })
        .features[0] as CategoricalProfile;
      assert.deepEqual(p.categories, c.categories, c.name);
      assert.deepEqual([...p.counts, p.missing], c.referenceCounts, c.name);
    }
  });

  it('keeps a bounded, sorted, seed-deterministic sample for the KS test', () => {
    const values = normals(20_000, 0, 1, 7);
    const build = (seed: number) =>
      buildReferenceProfile(numericSchema(), batchOf('x', values), { sampleSize: 300, seed })
        .features[0] as NumericProfile;
    const a = build(1);
    assert.equal(a.sample.length, 300);
    assert.deepEqual(
      a.sample,
      [...a.sample].sort((x, y) => x - y),
    );
    assert.deepEqual(build(1).sample, a.sample);
    assert.notDeepEqual(build(2).sample, a.sample);
    assert.equal(a.count, 20_000);
  });

  it('profiles a reference.json-shaped dataset with its predictions as an output, and survives JSON', () => {
    const dataset = {
      feature_names: ['sepal_length', 'colour'],
      rows: [
        [5.1, 'red'],
        [4.9, 'blue'],
        [null, 'red'],
        [6.3, null],
      ],
      prediction: [0, 1, 0, 2],
    };
    const schema = {
      features: [
        { name: 'sepal_length', kind: 'numeric' as const },
        { name: 'colour', kind: 'categorical' as const },
      ],
      outputs: [{ name: 'label', kind: 'categorical' as const }],
    };
    const profile = buildReferenceProfile(schema, referenceBatch(dataset, { label: dataset.prediction }));
    assert.equal(profile.rows, 4);
    const [num, cat] = profile.features as [NumericProfile, CategoricalProfile];
    assert.deepEqual([num.count, num.missing, num.min, num.max], [3, 1, 4.9, 6.3]);
    assert.deepEqual([cat.categories, cat.counts, cat.missing], [['red', 'blue'], [2, 1, 0], 1]);
    assert.deepEqual((profile.outputs[0] as CategoricalProfile).categories, ['0', '1', '2']);
    assert.deepEqual(JSON.parse(JSON.stringify(profile)), profile);
  });
});

describe('rowsToBatch', () => {
  it('reads prediction-log records: keys, array elements (class probabilities), bigint labels, missing cells', () => {
    const schema = {
      features: [{ name: 'a', kind: 'numeric' as const }],
      outputs: [
        { name: 'label', kind: 'categorical' as const },
        { name: 'p1', kind: 'numeric' as const, key: 'probabilities', index: 1 },
      ],
    };
    const batch = rowsToBatch(schema, [
      { features: { a: 1.5 }, outputs: { label: 2n, probabilities: Float32Array.from([0.25, 0.75]) } },
      { features: { a: 'n/a' }, outputs: { label: 'x' } },
      { features: {} },
    ]);
    assert.deepEqual(Array.from(batch.features.a as Float64Array), [1.5, Number.NaN, Number.NaN]);
    assert.deepEqual(batch.outputs.label, ['2', 'x', null]);
    assert.deepEqual(Array.from(batch.outputs.p1 as Float64Array), [0.75, Number.NaN, Number.NaN]);
  });
});
