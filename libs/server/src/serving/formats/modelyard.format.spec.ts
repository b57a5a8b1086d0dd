import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderModelyard, renderModelyardJson } from './modelyard.format.js';
import { irisSignature, served, tensor } from './formats.test-support.js';

describe('renderModelyardJson', () => {
  const same = (sv: ReturnType<typeof served>, outputs: Parameters<typeof renderModelyard>[1]) =>
    assert.equal(renderModelyardJson(sv, outputs), JSON.stringify(renderModelyard(sv, outputs)));

  it('writes the same bytes as the generic renderer for int64 labels and float32 probabilities', () => {
    const sv = served(irisSignature());
    same(sv, {
      label: tensor('int64', BigInt64Array.from([0n, 2n]), [2]),
      probabilities: tensor('float32', Float32Array.from([0.9, 0.05, 0.05, 1e-7, 0.3, 0.7]), [2, 3]),
    });
    same(sv, {
      label: tensor('int64', BigInt64Array.from([2n ** 60n]), [1]),
      probabilities: tensor('float32', Float32Array.from([NaN, Infinity, -0]), [1, 3]),
    });
    // A second answer reuses the version's cached tail.
    same(sv, {
      label: tensor('int64', BigInt64Array.from([1n]), [1]),
      probabilities: tensor('float64', Float64Array.from([0.1, 0.8, 0.1]), [1, 3]),
    });
  });

  it('writes string labels with JSON escaping, and classes from the signature', () => {
    const sv = served({ ...irisSignature(), classes: ['setosa', 'ver"si\ncolor', 'virginica'] }, { model: 'iris.v2' });
    same(sv, {
      label: tensor('string', ['ver"si\ncolor', 'virginica'], [2]),
      probabilities: tensor('float32', Float32Array.from([0.1, 0.8, 0.1, 0, 0, 1]), [2, 3]),
    });
  });

  it("names another project's model by its name, never by its key (<project>/<name>)", () => {
    const sv = served(irisSignature(), { model: 'team-a/iris' });
    const outputs = {
      label: tensor('int64', BigInt64Array.from([1n]), [1]),
      probabilities: tensor('float32', Float32Array.from([0.1, 0.8, 0.1]), [1, 3]),
    };
    assert.equal(JSON.parse(renderModelyardJson(sv, outputs)).model, 'iris');
    assert.equal(renderModelyard(sv, outputs).model, 'iris');
  });

  it('falls back to the generic renderer for regressors and classifiers without labels', () => {
    const reg = served({
      inputs: irisSignature().inputs,
      outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
      task: 'regression',
    });
    same(reg, { y: tensor('float32', Float32Array.from([1.5, 2.5]), [2, 1]) });
    const noLabel = served({ ...irisSignature(), labelOutput: undefined }, { labelOutput: null });
    same(noLabel, { probabilities: tensor('float32', Float32Array.from([0.2, 0.7, 0.1]), [1, 3]) });
  });
});
