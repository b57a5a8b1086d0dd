import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { irisSignature, served } from '../serving/formats/formats.test-support.js';
import { contributionNames } from '../jobs/batch-contributions.js';
import { renderOipExplanation } from './explain.service.js';

describe('renderOipExplanation', () => {
  it('lays two rows of 4 features x 3 classes out as [n, m, k] contributions, [n, k] base and value, [n] bounds', () => {
    const row = (r: number) => ({
      base: [0.3, 0.3, 0.4],
      value: [r, 1 - r, 0],
      contributions: Array.from({ length: 4 }, (_, j) => [0, 1, 2].map((o) => 100 * r + 10 * j + o)),
      errorBound: r / 10,
    });
    const out = renderOipExplanation(
      served(irisSignature(), { model: 'team-b/iris' }),
      {
        method: 'tree',
        exact: true,
        output: 'probabilities',
        outputs: [0, 1, 2],
        features: ['a', 'b', 'c', 'd'],
        backgroundRows: 20,
        samples: null,
        rows: [row(0), row(1)],
      },
      'req-1',
    );
    assert.equal(out.model_name, 'iris', 'the name in its project, not the key');
    assert.equal(out.model_version, '3');
    assert.equal(out.id, 'req-1');
    const [contributions, base, value, bound] = out.outputs;
    assert.deepEqual(contributions!.shape, [2, 4, 3]);
    // Row 1, feature 2, class 1 sits at (1 * 4 + 2) * 3 + 1.
    assert.equal(contributions!.data[(1 * 4 + 2) * 3 + 1], 121);
    assert.deepEqual(base!.shape, [2, 3]);
    assert.deepEqual(value!.data, [0, 1, 0, 1, 0, 0]);
    assert.deepEqual(bound!.data, [0, 0.1]);
    assert.deepEqual(out.parameters.features, ['a', 'b', 'c', 'd']);
  });
});

describe('contributionNames', () => {
  it('names batch contribution columns per feature and class, then the base of each class', () => {
    const names = contributionNames(served(irisSignature()));
    assert.equal(names.length, 15);
    assert.deepEqual(names.slice(0, 5), [
      'contribution_sepal_length_0',
      'contribution_sepal_width_0',
      'contribution_petal_length_0',
      'contribution_petal_width_0',
      'base_value_0',
    ]);
  });
});
