import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { figuresOf, joinLabels, sliceReport, viewOf, type LoggedRequest } from './performance.js';

const classifier = viewOf({
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1] }],
  outputs: [
    { name: 'label', dtype: 'int64', shape: [-1] },
    { name: 'probabilities', dtype: 'float32', shape: [-1, 2] },
  ],
  classes: [0, 1],
  labelOutput: 'label',
  probabilityOutput: 'probabilities',
});
const regressor = viewOf({
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1] }],
  outputs: [{ name: 'variable', dtype: 'float32', shape: [-1, 1] }],
});
const P = '00000000-0000-4000-8000-000000000001';
const Q = '00000000-0000-4000-8000-000000000002';
const at = new Date('2026-01-01T10:05:00Z');
const req = (r: Partial<LoggedRequest>): LoggedRequest => ({
  version: 1,
  role: 'production',
  at,
  outputs: [],
  predictionId: null,
  entityIds: [],
  callerGroups: [],
  ...r,
});

describe('joinLabels', () => {
  it('labels a row by (prediction id, row), else by its entity id, and leaves the others unlabelled', () => {
    const rows = joinLabels(
      [
        req({
          predictionId: P,
          entityIds: ['e1', 'e2', 'e3'],
          outputs: [
            { label: 1, probabilities: [0.2, 0.8] },
            { label: 0, probabilities: [0.9, 0.1] },
            { label: 0, probabilities: [0.6, 0.4] },
          ],
        }),
      ],
      [
        { predictionId: P, row: 1, entityId: null, label: 1 },
        { predictionId: null, row: null, entityId: 'e1', label: '1' },
        { predictionId: null, row: null, entityId: 'e2', label: 0 }, // row 1 has its own label by prediction id
      ],
      new Map([[1, classifier]]),
    );
    assert.deepEqual(
      rows.map((r) => r.classified),
      [
        { predicted: '1', actual: '1', proba: [0.2, 0.8] },
        { predicted: '0', actual: '1', proba: [0.9, 0.1] },
        undefined,
      ],
    );
    const f = figuresOf(rows, classifier.classes);
    assert.deepEqual([f.predictions, f.labelled, f.coverage, f.accuracy], [3, 2, 2 / 3, 0.5]);
  });

  it('scores a regressor on numbers, and skips a label that is not one', () => {
    const rows = joinLabels(
      [req({ predictionId: Q, outputs: [{ variable: 2 }, { variable: 4 }] })],
      [
        { predictionId: Q, row: 0, entityId: null, label: 3 },
        { predictionId: Q, row: 1, entityId: null, label: 'tall' },
      ],
      new Map([[1, regressor]]),
    );
    const f = figuresOf(rows, []);
    assert.deepEqual([f.labelled, f.mae, f.rmse, f.accuracy], [1, 1, 1, null]);
  });
});

describe('sliceReport', () => {
  it('slices by version and role, by window from the range start, and by each caller group', () => {
    const rows = joinLabels(
      [
        req({ predictionId: P, outputs: [{ label: 1 }], callerGroups: ['g1', 'g2'] }),
        req({ version: 2, role: 'pilot', at: new Date('2026-01-01T11:30:00Z'), outputs: [{ label: 0 }] }),
      ],
      [{ predictionId: P, row: 0, entityId: null, label: 1 }],
      new Map([
        [1, classifier],
        [2, classifier],
      ]),
    );
    const r = sliceReport(rows, new Map([[1, classifier]]), new Date('2026-01-01T10:00:00Z'), 60);
    assert.deepEqual(
      r.byVersion.map((s) => [s.version, s.role, s.predictions, s.labelled, s.accuracy]),
      [
        [2, 'pilot', 1, 0, null],
        [1, 'production', 1, 1, 1],
      ],
    );
    assert.deepEqual(
      r.byWindow.map((s) => [s.start, s.version]),
      [
        ['2026-01-01T10:00:00.000Z', 1],
        ['2026-01-01T11:00:00.000Z', 2],
      ],
    );
    assert.deepEqual(
      r.byGroup.map((s) => [s.group, s.version, s.labelled]),
      [
        ['g1', 1, 1],
        ['g2', 1, 1],
      ],
    );
  });
});
