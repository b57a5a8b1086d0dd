import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { signatureFromModel } from '../engine/inspect.js';
import { parseMetadataList, readOnnxModel, readOnnxModelFile } from './onnx-model.js';
import { FIXTURES_DIR, fixture, sharedModel } from './onnx.test-support.js';

describe('parseMetadataList', () => {
  it('reads JSON arrays', () => {
    assert.deepEqual(parseMetadataList('[0, 1, 2]'), [0, 1, 2]);
    assert.deepEqual(parseMetadataList('["setosa", "versicolor"]'), ['setosa', 'versicolor']);
  });

  it('reads comma-separated lists, integers as numbers', () => {
    assert.deepEqual(parseMetadataList('sepal_length, sepal_width ,petal_length'), [
      'sepal_length',
      'sepal_width',
      'petal_length',
    ]);
    assert.deepEqual(parseMetadataList('0,1,2'), [0, 1, 2]);
    assert.deepEqual(parseMetadataList("'a', 'b'"), ['a', 'b']);
    assert.deepEqual(parseMetadataList('1.5,2'), ['1.5', '2'], 'only integers become numbers');
  });

  it('gives undefined for empty or malformed values', () => {
    assert.equal(parseMetadataList(''), undefined);
    assert.equal(parseMetadataList('a,,b'), undefined);
  });
});

describe('readOnnxModel', () => {
  it('reads inputs, outputs, opsets and metadata_props of a shared model', () => {
    const model = readOnnxModel(sharedModel('iris_logreg').bytes);
    assert.equal(model.irVersion, 8);
    assert.deepEqual(model.opsets, [
      { domain: 'ai.onnx', version: 15 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    assert.deepEqual(Object.keys(model.metadata), ['feature_names', 'classes', 'class_names']);
    assert.deepEqual(model.featureNames, ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    assert.deepEqual(model.classes, [0, 1, 2]);
    assert.deepEqual(model.classNames, ['setosa', 'versicolor', 'virginica']);
    assert.deepEqual(model.inputs, [
      {
        name: 'float_input',
        kind: 'tensor',
        elemType: 1,
        dtype: 'float32',
        shape: [-1, 4],
        type: 'tensor(float)[N,4]',
      },
    ]);
    assert.deepEqual(
      model.outputs.map((o) => [o.name, o.dtype, o.shape]),
      [
        ['label', 'int64', [-1]],
        ['probabilities', 'float32', [-1, 3]],
      ],
    );
    assert.deepEqual(model.classifierLabels?.classes, [0, 1, 2]);
    assert.deepEqual(model.zipMaps, []);
    assert.deepEqual(model.warnings, []);
  });

  it('finds ZipMap outputs, their labels and non-tensor outputs', () => {
    const model = readOnnxModel(fixture('zipmap_int').bytes);
    assert.deepEqual(model.zipMaps, [
      {
        node: 'ZipMap',
        input: 'probability_tensor',
        output: 'output_probability',
        keyType: 'int64',
        classes: [10, 20, 30],
      },
    ]);
    assert.deepEqual(model.nonTensorOutputs, ['output_probability']);
    assert.equal(model.outputs[1]!.type, 'seq(map(int64,tensor(float)))');
    assert.equal(model.outputs[1]!.dtype, undefined);
    assert.deepEqual(model.inputs[0]!.shape, [-1, 4], 'a dim with neither value nor name is dynamic');
    assert.equal(model.classes, undefined, 'no metadata: classes come from the graph, in inspectModel');
  });

  it('leaves initializers out of the inputs and reads files from disk', async () => {
    const model = await readOnnxModelFile(path.join(FIXTURES_DIR, 'multi_input.onnx'));
    assert.deepEqual(
      model.inputs.map((i) => i.name),
      ['demographics', 'measurements'],
    );
  });
});

describe('signatureFromModel', () => {
  const multi = () => readOnnxModel(fixture('multi_input').bytes);

  it('takes feature_names as a JSON object of input name -> names', () => {
    const model = {
      ...multi(),
      featureNames: { demographics: ['age', 'sex'], measurements: ['bmi', 'bp', 's1'], other: ['x'] },
    };
    const { signature, warnings } = signatureFromModel(model);
    assert.deepEqual(
      signature.inputs.map((i) => i.columns),
      [
        ['age', 'sex'],
        ['bmi', 'bp', 's1'],
      ],
    );
    assert.deepEqual(warnings, ['metadata feature_names names an input "other" the model does not have.']);
  });

  it('ignores feature names that do not fit the inputs, with a warning', () => {
    const { signature, warnings } = signatureFromModel({ ...multi(), featureNames: ['a', 'b', 'c'] });
    assert.deepEqual(
      signature.inputs.map((i) => i.columns),
      [undefined, undefined],
    );
    assert.match(
      warnings[0]!,
      /lists 3 names, which cannot be split over inputs "demographics" \[-1,2\], "measurements" \[-1,3\]/,
    );
  });

  it('names the [N, 1] inputs of a multi-input model after themselves when there are no feature names', () => {
    const model = multi();
    const oneColumn = {
      ...model,
      featureNames: undefined,
      inputs: model.inputs.map((i) => ({ ...i, shape: [-1, 1] })),
    };
    assert.deepEqual(
      signatureFromModel(oneColumn).signature.inputs.map((i) => i.columns),
      [['demographics'], ['measurements']],
    );
  });

  it('calls a float output with no classes a regression, and a probability output a classifier', () => {
    assert.equal(signatureFromModel(multi()).signature.task, 'regression');
    const model = readOnnxModel(fixture('zipmap_int').bytes);
    const { signature } = signatureFromModel(model);
    assert.equal(signature.task, 'classification');
    assert.deepEqual(signature.classes, [10, 20, 30]);
  });
});
