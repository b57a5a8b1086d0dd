import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TSignature } from '@modelyard/contracts';
import { parseOip, renderOip, renderOipMetadata } from './oip-v2.format.js';
import {
  assertInputError,
  irisSignature,
  LIMITS,
  served,
  tensor,
  twoInputSignature,
  values,
} from './formats.test-support.js';

const iris = served(irisSignature());
const two = served(twoInputSignature());
const row = [5.1, 3.5, 1.4, 0.2];
const irisInput = (over: Record<string, unknown> = {}) => ({
  name: 'float_input',
  datatype: 'FP32',
  shape: [2, 4],
  data: [...row, ...row],
  ...over,
});
const body = (over: Record<string, unknown> = {}, input: Record<string, unknown> = {}) => ({
  inputs: [irisInput(input)],
  ...over,
});

function int64Model(): TSignature {
  return {
    inputs: [{ name: 'x', dtype: 'int64', shape: [-1, 2] }],
    outputs: [{ name: 'y', dtype: 'int64', shape: [-1, 2] }],
  };
}

describe('parseOip', () => {
  it('reads flat and nested data into the same tensor, keeping the batch dim', () => {
    const flat = parseOip(body(), iris, LIMITS);
    const nested = parseOip(body({}, { data: [row, row] }), iris, LIMITS);
    assert.deepEqual(flat.feeds.float_input!.dims, [2, 4]);
    assert.deepEqual(nested.feeds.float_input!.dims, [2, 4]);
    assert.deepEqual(values(nested.feeds.float_input), values(flat.feeds.float_input));
    assert.equal(flat.feeds.float_input!.type, 'float32');
  });

  it('echoes the id, tolerates its absence and ignores parameters', () => {
    assert.equal(
      parseOip(body({ id: '42', parameters: { anything: true } }, { parameters: { x: 1 } }), iris, LIMITS).id,
      '42',
    );
    assert.equal(parseOip(body(), iris, LIMITS).id, undefined);
    assertInputError(() => parseOip(body({ id: 42 }), iris, LIMITS), /"id" must be a string/);
  });

  it('takes every input of a multi-input model by name, in any order', () => {
    const r = parseOip(
      {
        inputs: [
          { name: 'b', datatype: 'FP32', shape: [1, 1], data: [3] },
          { name: 'a', datatype: 'FP32', shape: [1, 2], data: [[1, 2]] },
        ],
      },
      two,
      LIMITS,
    );
    assert.deepEqual(values(r.feeds.a), [1, 2]);
    assert.deepEqual(r.feeds.b!.dims, [1, 1]);
  });

  it('refuses unknown, missing and repeated inputs', () => {
    assertInputError(
      () => parseOip({ inputs: [irisInput({ name: 'nope' })] }, iris, LIMITS),
      /Unknown input "nope" \(the model takes float_input\)/,
    );
    assertInputError(
      () => parseOip({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }, two, LIMITS),
      /Input "b" is missing/,
    );
    assertInputError(() => parseOip({ inputs: [irisInput(), irisInput()] }, iris, LIMITS), /given twice/);
    assertInputError(() => parseOip({ inputs: [] }, iris, LIMITS), /non-empty list/);
    assertInputError(() => parseOip([], iris, LIMITS), /JSON object/);
  });

  it('refuses a shape that disagrees with the data or with the model', () => {
    assertInputError(
      () => parseOip(body({}, { data: row }), iris, LIMITS),
      /shape \[2, 4\] needs 8 values in data, got 4/,
    );
    assertInputError(() => parseOip(body({}, { data: [row, [1, 2, 3]] }), iris, LIMITS), /needs 8 values/);
    assertInputError(
      () => parseOip(body({}, { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }), iris, LIMITS),
      /does not fit the model's \[-1, 4\]/,
    );
    assertInputError(() => parseOip(body({}, { shape: [8] }), iris, LIMITS), /does not fit/);
    assertInputError(() => parseOip(body({}, { shape: [2, -4] }), iris, LIMITS), /non-negative integers/);
    assertInputError(() => parseOip(body({}, { shape: [101, 4] }), iris, LIMITS), /101 rows \(the limit is 100/);
    // A huge declared shape is refused before anything is allocated.
    const open = served({
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, -1] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [-1, -1] }],
    });
    assertInputError(
      () => parseOip({ inputs: [{ name: 'x', datatype: 'FP32', shape: [100, 4e12], data: row }] }, open, LIMITS),
      /needs 400000000000000 values in data, got 4/,
    );
    assertInputError(
      () => parseOip({ inputs: [{ name: 'x', datatype: 'FP32', shape: [100, 4e12], data: [row] }] }, open, LIMITS),
      /nested to that shape/,
    );
  });

  it('checks each value against the datatype and refuses FP16 and a wrong datatype', () => {
    assertInputError(
      () => parseOip(body({}, { data: [...row, 1, 2, 'x', 4] }), iris, LIMITS),
      /element 6 must be a finite number, got "x"/,
    );
    assertInputError(() => parseOip(body({}, { datatype: 'FP64' }), iris, LIMITS), /has datatype FP32, got "FP64"/);
    assertInputError(() => parseOip(body({}, { datatype: 'FP16' }), iris, LIMITS), /FP16 has no JSON form/);
  });

  it('takes INT64 beyond 2^53 as decimal strings, exactly, and refuses rounded JSON numbers', () => {
    const sv = served(int64Model());
    const r = parseOip(
      { inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 2], data: ['9223372036854775807', -5] }] },
      sv,
      LIMITS,
    );
    assert.deepEqual(values(r.feeds.x), [9223372036854775807n, -5n]);
    assertInputError(
      () => parseOip({ inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 2], data: [2 ** 60, 1] }] }, sv, LIMITS),
      /element 0 must be an integer/,
    );
  });

  it('reads the outputs filter and refuses a malformed one', () => {
    assert.deepEqual(parseOip(body({ outputs: [{ name: 'probabilities', parameters: {} }] }), iris, LIMITS).outputs, [
      'probabilities',
    ]);
    assert.equal(parseOip(body({ outputs: [] }), iris, LIMITS).outputs, undefined);
    assertInputError(() => parseOip(body({ outputs: ['label'] }), iris, LIMITS), /outputs\[0\] must be an object/);
    assertInputError(
      () => parseOip(body({ outputs: [{ name: 'label' }, { name: 'label' }] }), iris, LIMITS),
      /requested twice/,
    );
  });
});

describe('renderOip', () => {
  it('answers model_name, model_version, id and flat outputs with OIP datatypes', () => {
    const outputs = {
      label: tensor('int64', new BigInt64Array([0n, 2n ** 60n]), [2]),
      probabilities: tensor('float32', new Float32Array([0.5, 0.25, 0.25, 0, 0, 1]), [2, 3]),
    };
    const r = renderOip(iris, outputs, ['label', 'probabilities'], 'req-1');
    assert.equal(r.model_name, 'm');
    assert.equal(r.model_version, '3');
    assert.equal(r.id, 'req-1');
    assert.deepEqual(r.outputs[0], { name: 'label', datatype: 'INT64', shape: [2], data: [0, '1152921504606846976'] });
    assert.deepEqual(r.outputs[1], {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [2, 3],
      data: [0.5, 0.25, 0.25, 0, 0, 1],
    });
  });

  it('answers BOOL as booleans and BYTES as strings, and refuses FP16', () => {
    const r = renderOip(
      iris,
      { b: tensor('bool', new Uint8Array([1, 0]), [1, 2]), s: tensor('string', ['a', 'é'], [2]) },
      ['b', 's'],
      'x',
    );
    assert.deepEqual(
      r.outputs.map((o) => [o.datatype, o.data]),
      [
        ['BOOL', [true, false]],
        ['BYTES', ['a', 'é']],
      ],
    );
    assertInputError(
      () => renderOip(iris, { h: tensor('float16', new Uint16Array([15360]), [1]) }, ['h'], 'x'),
      /float16/,
    );
  });
});

describe("another project's model", () => {
  it('is named by its name, never by its key (<project>/<name>), in answers and metadata', () => {
    const sv = served(irisSignature(), { model: 'team-a/iris' });
    const outputs = { label: tensor('int64', new BigInt64Array([0n]), [1]) };
    assert.equal(renderOip(sv, outputs, ['label'], 'r').model_name, 'iris');
    assert.equal(renderOipMetadata(sv, [1]).name, 'iris');
  });
});

describe('renderOipMetadata', () => {
  it('lists servable inputs and outputs with OIP datatypes and -1 for open dims', () => {
    const m = renderOipMetadata(served(irisSignature(), { outputNames: ['probabilities'] }), [3, 5]);
    assert.deepEqual(m, {
      name: 'm',
      versions: ['3', '5'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
    });
  });
});
