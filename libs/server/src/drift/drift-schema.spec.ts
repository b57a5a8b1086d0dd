import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TSignature } from '@modelyard/contracts';
import { buildReferenceProfile, referenceBatch, rowsToBatch } from './drift-profile.js';
import { createWindow, foldRows } from './drift-window.js';
import { driftReport } from './drift-metrics.js';
import { driftSchemaOf, float32Features, outputRecords, roundToFloat32 } from './drift-schema.js';

const classifier = (over: Partial<TSignature> = {}): TSignature => ({
  inputs: [{ name: 'float_input', dtype: 'float32', shape: [-1, 2], columns: ['a', 'b'] }],
  outputs: [
    { name: 'label', dtype: 'int64', shape: [-1] },
    { name: 'probabilities', dtype: 'float32', shape: [-1, 3] },
  ],
  classes: [0, 1, 2],
  task: 'classification',
  labelOutput: 'label',
  probabilityOutput: 'probabilities',
  ...over,
});

describe('driftSchemaOf', () => {
  it('monitors the input columns, the predicted label and one probability per class', () => {
    assert.deepEqual(driftSchemaOf(classifier()), {
      features: [
        { name: 'a', kind: 'numeric' },
        { name: 'b', kind: 'numeric' },
      ],
      outputs: [
        { name: 'prediction', kind: 'categorical', key: 'label' },
        { name: 'proba_0', kind: 'numeric', key: 'probabilities', index: 0 },
        { name: 'proba_1', kind: 'numeric', key: 'probabilities', index: 1 },
        { name: 'proba_2', kind: 'numeric', key: 'probabilities', index: 2 },
      ],
    });
  });

  it('names unnamed columns like the prediction log, treats string inputs as categorical and regressor outputs as numeric', () => {
    const s = driftSchemaOf({
      inputs: [
        { name: 'x', dtype: 'float64', shape: [-1, 2] },
        { name: 'city', dtype: 'string', shape: [-1, 1], columns: ['city'] },
      ],
      outputs: [
        { name: 'variable', dtype: 'float32', shape: [-1, 1] },
        { name: 'embedding', dtype: 'float32', shape: [-1, 8] },
      ],
      task: 'regression',
    });
    assert.deepEqual(s.features, [
      { name: 'x_0', kind: 'numeric' },
      { name: 'x_1', kind: 'numeric' },
      { name: 'city', kind: 'categorical' },
    ]);
    assert.deepEqual(s.outputs, [{ name: 'variable', kind: 'numeric' }]);
  });
});

describe('outputRecords', () => {
  it('turns per-output arrays into per-row records the way the prediction log writes them', () => {
    const records = outputRecords(
      {
        label: [1, 0],
        probabilities: [
          [0.1, 0.9, 0],
          [0.8, 0.1, 0.1],
        ],
        variable: [[2.5], [3.5]],
      },
      2,
    );
    assert.deepEqual(records, [
      { label: 1, probabilities: [0.1, 0.9, 0], variable: 2.5 },
      { label: 0, probabilities: [0.8, 0.1, 0.1], variable: 3.5 },
    ]);
    const batch = rowsToBatch(
      { features: [], outputs: driftSchemaOf(classifier()).outputs },
      records.map((o) => ({ features: {}, outputs: o })),
    );
    assert.deepEqual(Array.from(batch.outputs.proba_1 as Float64Array), [0.9, 0.1]);
    assert.deepEqual(batch.outputs.prediction, ['1', '0']);
  });
});

describe('roundToFloat32', () => {
  it('keeps served float32 values of a tied column in the reference bins (no false drift)', () => {
    const values = [0.2, 0.2, 0.2, 1.3, 1.3, 1.8, 1.8, 2.3, 0.1, 1.5];
    const dataset = {
      feature_names: ['a', 'b'],
      rows: Array.from({ length: 200 }, (_, i) => [values[i % 10]!, values[(i * 3) % 10]!]),
    };
    const served = dataset.rows.map(([a, b]) => ({ features: { a: Math.fround(a!), b: Math.fround(b!) } }));
    const schema = { features: driftSchemaOf(classifier()).features, outputs: [] };
    const report = (batch: ReturnType<typeof referenceBatch>) => {
      const profile = buildReferenceProfile(schema, batch);
      return driftReport(profile, foldRows(createWindow(profile), profile, served)).features.map((f) => f.status);
    };
    assert.ok(
      report(referenceBatch(dataset)).includes('drift'),
      'unrounded, the ties sit on the wrong side of their edges',
    );
    assert.deepEqual(report(roundToFloat32(referenceBatch(dataset), float32Features(classifier()))), ['ok', 'ok']);
  });
});
