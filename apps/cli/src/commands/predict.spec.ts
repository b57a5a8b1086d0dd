import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TSignature } from '@modelyard/contracts';
import { UsageError } from '../output.js';
import { csvRecords, formatOfBody, oipFromRows, parseInput } from './predict.js';

const iris: TSignature = {
  inputs: [{ name: 'float_input', dtype: 'float32', shape: [-1, 4], columns: ['a', 'b', 'c', 'd'] }],
  outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
};

describe('predict input', () => {
  it('reads CSV with quoted fields into records, numbers as numbers', () => {
    assert.deepEqual(csvRecords('id,a,"b, c"\r\n"x ""1""",1.5,2\n\ny,-3,\n'), [
      { id: 'x "1"', a: 1.5, 'b, c': 2 },
      { id: 'y', a: -3, 'b, c': '' },
    ]);
    assert.throws(() => csvRecords('a,b\n1\n'), /CSV row 1 has 1 fields, the header has 2/);
    assert.throws(() => csvRecords('a,b\n'), UsageError);
  });

  it('tells request bodies of each format from plain rows', () => {
    assert.equal(formatOfBody({ payload: [] }), 'modelyard');
    assert.equal(formatOfBody({ dataframe_split: {} }), 'mlflow');
    assert.equal(formatOfBody({ instances: [] }), 'tfs');
    assert.equal(formatOfBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }), 'oip-v2');
    assert.equal(formatOfBody({ inputs: { x: [[1]] } }), 'tfs');
    assert.equal(formatOfBody({ a: 1 }), undefined);
    assert.deepEqual(parseInput('{"a":1}', 'f'), { kind: 'rows', rows: [{ a: 1 }] });
    assert.deepEqual(parseInput('{"a":1}\n{"a":2}\n', 'f'), { kind: 'rows', rows: [{ a: 1 }, { a: 2 }] });
    assert.deepEqual(parseInput('[[1,2]]', 'f'), { kind: 'rows', rows: [[1, 2]] });
    assert.equal(parseInput('{"payload":[]}', 'f').kind, 'body');
    assert.deepEqual(parseInput('a,b\n1,2', 'f'), { kind: 'rows', rows: [{ a: 1, b: 2 }], csv: 'a,b\n1,2\n' });
    assert.throws(() => parseInput('{"a":', 'rows.json'), /rows.json is not valid JSON/);
    assert.throws(() => parseInput('  \n', 'stdin'), /stdin is empty/);
  });

  it("builds OIP v2 tensors from records in the signature's column order, and from value lists", () => {
    assert.deepEqual(
      oipFromRows(iris, [
        { d: 4, c: 3, b: 2, a: 1 },
        { a: 5, b: 6, c: 7, d: 8 },
      ]),
      {
        inputs: [{ name: 'float_input', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
      },
    );
    assert.deepEqual(oipFromRows(iris, [[1, 2, 3, 4]]), {
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    const noColumns: TSignature = { ...iris, inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4] }] };
    assert.throws(() => oipFromRows(noColumns, [{ a: 1 }]), /input "x" has no feature names/);
  });
});
