import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildReferenceProfile, type DriftSchema } from './drift-profile.js';
import {
  createWindow,
  foldBatch,
  foldRows,
  mergeWindows,
  type CategoricalWindowColumn,
  type NumericWindowColumn,
} from './drift-window.js';
import { assertClose, batchOf, expected, normals } from './drift-test-support.js';

const numericSchema: DriftSchema = { features: [{ name: 'x', kind: 'numeric' }], outputs: [] };
const profileOf = (values: ArrayLike<number>, sampleSize = 1000) =>
  buildReferenceProfile(numericSchema, batchOf('x', values), { sampleSize });
const numericCol = (w: { features: unknown[] }) => w.features[0] as NumericWindowColumn;

describe('foldBatch', () => {
  it('counts numeric fixtures into the reference bins exactly as numpy does (out-of-range values in the open end bins)', () => {
    for (const c of expected.numeric) {
      const profile = buildReferenceProfile(numericSchema, batchOf('x', c.reference));
      const col = numericCol(foldBatch(createWindow(profile), profile, batchOf('x', c.current)));
      assert.deepEqual([...col.counts, col.missing], c.currentCounts, c.name);
    }
  });

  it('counts categorical fixtures, unseen labels as "other" and missing apart', () => {
    for (const c of expected.categorical) {
      const schema: DriftSchema = { features: [{ name: 'c', kind: 'categorical' }], outputs: [] };
      const profile = buildReferenceProfile(schema, batchOf('c', c.reference), { maxCategories: c.maxCategories });
      const col = foldBatch(createWindow(profile), profile, batchOf('c', c.current))
        .features[0] as CategoricalWindowColumn;
      assert.deepEqual([...col.counts, col.missing], c.currentCounts, c.name);
    }
  });

  it('gives the same counts and moments in one batch or several', () => {
    const profile = profileOf(normals(2000, 0, 1, 1));
    const data = normals(10_000, 0.5, 2, 2);
    const once = numericCol(foldBatch(createWindow(profile), profile, batchOf('x', data)));
    const w = createWindow(profile);
    for (let i = 0; i < data.length; i += 3000) foldBatch(w, profile, batchOf('x', data.subarray(i, i + 3000)));
    const parts = numericCol(w);
    assert.deepEqual(parts.counts, once.counts);
    assert.equal(parts.count, 10_000);
    assertClose(parts.mean, once.mean!, 'mean', 1e-12);
    assertClose(parts.m2, once.m2, 'm2', 1e-12);
    assert.deepEqual([parts.min, parts.max], [once.min, once.max]);
    assert.equal(w.rows, 10_000);
  });

  it('keeps a bounded, roughly uniform sample of everything folded', () => {
    const profile = profileOf(normals(500, 0, 1, 3), 1000);
    const w = createWindow(profile, { seed: 42 });
    const idx = Float64Array.from({ length: 100_000 }, (_, i) => i);
    for (let i = 0; i < idx.length; i += 25_000) foldBatch(w, profile, batchOf('x', idx.subarray(i, i + 25_000)));
    const sample = numericCol(w).sample;
    assert.equal(sample.values.length, 1000);
    assert.equal(sample.seen, 100_000);
    const mean = sample.values.reduce((s, v) => s + v, 0) / 1000;
    // Uniform on [0, 1e5): sd of the mean of 1000 is about 913.
    assert.ok(Math.abs(mean - 50_000) < 3000, `sample mean ${mean}`);
  });

  it('is deterministic across a JSON round trip of the window', () => {
    const profile = profileOf(normals(500, 0, 1, 3), 200);
    const a = foldBatch(createWindow(profile, { seed: 9 }), profile, batchOf('x', normals(5000, 0, 1, 4)));
    const b = JSON.parse(JSON.stringify(a));
    foldBatch(a, profile, batchOf('x', normals(5000, 0, 1, 5)));
    foldBatch(b, profile, batchOf('x', normals(5000, 0, 1, 5)));
    assert.deepEqual(b, a);
  });

  it('folds prediction-log rows, outputs included', () => {
    const schema: DriftSchema = {
      features: [{ name: 'x', kind: 'numeric' }],
      outputs: [{ name: 'label', kind: 'categorical' }],
    };
    const profile = buildReferenceProfile(schema, batchOf('x', [1, 2, 3, 4], { label: [0, 1, 1, 0] }));
    const w = foldRows(createWindow(profile), profile, [
      { features: { x: 10 }, outputs: { label: 1n } },
      { features: { x: null }, outputs: { label: 7 } },
    ]);
    assert.deepEqual(numericCol(w).counts.at(-1), 1);
    assert.equal(numericCol(w).missing, 1);
    assert.deepEqual((w.outputs[0] as CategoricalWindowColumn).counts, [0, 1, 1]); // '0', '1', other
  });
});

describe('mergeWindows', () => {
  it('adds counts and combines moments as if the rows had been folded together', () => {
    const profile = profileOf(normals(1000, 0, 1, 1));
    const x = normals(4000, 1, 1, 2);
    const y = normals(6000, -1, 3, 3);
    const a = foldBatch(createWindow(profile), profile, batchOf('x', x));
    const b = foldBatch(createWindow(profile), profile, batchOf('x', y));
    const both = foldBatch(createWindow(profile), profile, batchOf('x', Float64Array.from([...x, ...y])));
    const merged = mergeWindows(a, b);
    const [m, o] = [numericCol(merged), numericCol(both)];
    assert.deepEqual(m.counts, o.counts);
    assert.equal(m.count, 10_000);
    assertClose(m.mean, o.mean!, 'mean', 1e-12, 1e-15);
    assertClose(m.m2, o.m2, 'm2', 1e-12);
    assert.deepEqual([m.min, m.max], [o.min, o.max]);
    assert.equal(merged.rows, 10_000);
    assert.equal(numericCol(a).count, 4000, 'inputs are not modified');
  });

  it('merges samples in proportion to how many values each side saw', () => {
    const profile = profileOf([0, 1], 1000);
    const a = foldBatch(createWindow(profile, { seed: 1 }), profile, batchOf('x', new Float64Array(10_000)));
    const b = foldBatch(createWindow(profile, { seed: 2 }), profile, batchOf('x', new Float64Array(30_000).fill(1)));
    const sample = numericCol(mergeWindows(a, b)).sample;
    assert.equal(sample.values.length, 1000);
    assert.equal(sample.seen, 40_000);
    const ones = sample.values.filter((v) => v === 1).length;
    assert.ok(Math.abs(ones - 750) < 60, `${ones} of 1000 from the 75% side`);
  });

  it('refuses windows over different profiles', () => {
    const p1 = profileOf([1, 2, 3]);
    const p2 = buildReferenceProfile(
      { features: [{ name: 'x', kind: 'categorical' }], outputs: [] },
      batchOf('x', ['a']),
    );
    assert.throws(() => mergeWindows(createWindow(p1), createWindow(p2)), /cannot merge/);
  });
});
