import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { decodeOnnxModel } from './onnx-model.js';
import { OnnxTypes } from './onnx-proto.js';
import { unboundedWork } from './onnx-work.js';
import { fixture, hostile, SHARED_MODELS_DIR, sharedModel } from './onnx.test-support.js';

const FLOAT = 1;
const INT64 = 7;
const input = (name: string, elem_type: number) => ({
  name,
  type: { tensor_type: { elem_type, shape: { dim: [{ dim_param: 'N' }, { dim_value: 2 }] } } },
});

/** A one-graph model of `nodes` over input X (float) and K (int64), with the given initializers. */
function graph(nodes: object[], initializer: object[] = [], domain = ''): Uint8Array {
  return OnnxTypes.ModelProto.encode({
    ir_version: 8,
    opset_import: [{ domain, version: domain ? 1 : 17 }],
    graph: {
      name: 'g',
      node: nodes,
      initializer,
      input: [input('X', FLOAT), input('K', INT64)],
      output: [{ name: 'Y' }],
    },
  }).finish();
}
const work = (bytes: Uint8Array) => unboundedWork(decodeOnnxModel(bytes));

describe('unboundedWork', () => {
  it('finds none in the reference models and the parser fixtures', () => {
    const shared = readdirSync(SHARED_MODELS_DIR).filter((d) => !d.includes('.'));
    assert.ok(shared.length >= 5);
    for (const name of shared) assert.equal(work(sharedModel(name).bytes), null, name);
    for (const name of ['multi_input', 'regressor', 'zipmap_int', 'zipmap_str'])
      assert.equal(work(fixture(name).bytes), null, name);
  });

  it('names the Loop of a model counted by the request, and any subgraph', () => {
    assert.match(work(hostile('loop-by-input'))!, /^node "Loop_Y" \(Loop\) runs a subgraph/);
    assert.match(work(hostile('loop-forever'))!, /\(Loop\) runs a subgraph/);
  });

  it('names ConstantOfShape fed by the request, directly or through other nodes, its shape included', () => {
    assert.match(
      work(hostile('shape-blowup'))!,
      /^node "ConstantOfShape_Z" \(ConstantOfShape\) sizes its work by input 0 \("X"\), which comes from the request$/,
    );
    const viaShape = graph([
      { op_type: 'Shape', input: ['X'], output: ['S'] },
      { op_type: 'Mul', input: ['S', 'big'], output: ['S2'] },
      { op_type: 'ConstantOfShape', input: ['S2'], output: ['Y'], name: 'c' },
    ]);
    assert.match(work(viaShape)!, /^node "c" \(ConstantOfShape\) sizes its work by input 0 \("S2"\)/);
    const range = graph([{ op_type: 'Range', input: ['zero', 'K', 'one'], output: ['Y'] }]);
    assert.match(work(range)!, /\(Range\) sizes its work by input 1 \("K"\)/);
  });

  it("passes size-by-value operators whose sizing inputs are the model's own constants", () => {
    const tiled = graph(
      [
        { op_type: 'Constant', input: [], output: ['reps'] },
        { op_type: 'Tile', input: ['X', 'reps'], output: ['T'] },
        { op_type: 'Expand', input: ['T', 'shape'], output: ['Y'] },
      ],
      [{ name: 'shape', data_type: INT64, dims: [2] }],
    );
    assert.equal(work(tiled), null);
  });

  it('names an operator of another domain (contrib operators, local functions are not analysed)', () => {
    const contrib = graph(
      [{ op_type: 'FastGelu', domain: 'com.microsoft', input: ['X'], output: ['Y'] }],
      [],
      'com.microsoft',
    );
    assert.match(work(contrib)!, /\(FastGelu\) is of domain "com.microsoft", which is not analysed$/);
  });
});
