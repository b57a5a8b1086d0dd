import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TSignature } from '@modelyard/contracts';
import { mlflowBodyKind, parseCsv, parseMlflow, renderMlflow } from './mlflow.format.js';
import {
  assertInputError,
  IRIS_COLUMNS,
  irisSignature,
  LIMITS,
  served,
  tensor,
  twoInputSignature,
  values,
} from './formats.test-support.js';

const iris = served(irisSignature());
const two = served(twoInputSignature());
const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.2, 2.9, 4.3, 1.3],
];
const records = rows.map((r) => Object.fromEntries(IRIS_COLUMNS.map((c, i) => [c, r[i]])));
const json = (body: unknown, sv = iris) => parseMlflow(body, 'json', sv, LIMITS);
const csv = (text: string, sv = iris) => parseMlflow(text, 'csv', sv, LIMITS);

function int64Model(): TSignature {
  return {
    inputs: [{ name: 'x', dtype: 'int64', shape: [-1, 1], columns: ['big'] }],
    outputs: [{ name: 'y', dtype: 'int64', shape: [-1, 1] }],
  };
}

describe('mlflowBodyKind', () => {
  it('takes JSON and CSV in utf-8 and refuses the rest with 415', () => {
    assert.equal(mlflowBodyKind('application/json'), 'json');
    assert.equal(mlflowBodyKind('application/json; charset=UTF-8'), 'json');
    assert.equal(mlflowBodyKind('text/csv;charset="utf-8"'), 'csv');
    assertInputError(() => mlflowBodyKind('application/json; charset=latin-1'), /only supports UTF-8/, 415);
    assertInputError(() => mlflowBodyKind('text/plain'), /must be one of application\/json, text\/csv/, 415);
    assertInputError(() => mlflowBodyKind(undefined), /got "none"/, 415);
  });
});

describe('parseMlflow', () => {
  it('reads all four JSON formats into the same tensor', () => {
    const expected = values(json({ dataframe_records: records }).float_input);
    const reordered = ['petal_width', 'sepal_length', 'petal_length', 'sepal_width'];
    const bodies = [
      {
        dataframe_split: {
          columns: reordered,
          data: rows.map((r) => reordered.map((c) => r[IRIS_COLUMNS.indexOf(c)])),
          index: [7, 8],
        },
      },
      { dataframe_split: { data: rows } },
      { instances: rows },
      { instances: records, params: { threshold: 0.7 } },
      { inputs: rows },
      { inputs: Object.fromEntries(IRIS_COLUMNS.map((c, i) => [c, rows.map((r) => r[i])])) },
      { inputs: { float_input: rows } },
    ];
    for (const b of bodies) {
      const feeds = json(b);
      assert.deepEqual(feeds.float_input!.dims, [2, 4], JSON.stringify(b));
      assert.deepEqual(values(feeds.float_input), expected, JSON.stringify(b));
    }
  });

  it('splits a table over the inputs of a multi-input model by feature name', () => {
    const feeds = json({ dataframe_split: { columns: ['b0', 'a1', 'a0'], data: [[3, 2, 1]] } }, two);
    assert.deepEqual(values(feeds.a), [1, 2]);
    assert.deepEqual(values(feeds.b), [3]);
  });

  it("refuses zero, two or unknown format keys with MLflow's message", () => {
    const message = /exactly one of the input fields \{'dataframe_split', 'dataframe_records', 'instances', 'inputs'\}/;
    assertInputError(() => json({}), message);
    assertInputError(
      () => json({ instances: rows, inputs: rows }),
      /Received dictionary with input fields: \['instances', 'inputs'\]/,
    );
    assertInputError(() => json({ instances: rows, signature_name: 'serving_default' }), message);
    assertInputError(() => json({ columns: IRIS_COLUMNS, data: rows }), message);
    assertInputError(() => json(rows), /Received a list/);
    assertInputError(() => json('x'), /unexpected input type 'string'/);
    assertInputError(() => json({ instances: rows, params: [1] }), /"params" must be a dictionary/);
  });

  it('names the row and the feature that is wrong', () => {
    assertInputError(
      () => json({ dataframe_split: { columns: ['sepal_length'], data: [[1]] } }),
      /Column "sepal_width" is missing/,
    );
    assertInputError(
      () => json({ dataframe_split: { columns: IRIS_COLUMNS, data: [[1, 2, 3]] } }),
      /Row 0: expected a list of 4 values/,
    );
    assertInputError(
      () => json({ dataframe_records: [records[0], { ...records[1], petal_width: 'x' }] }),
      /Row 1: feature "petal_width" must be a finite number, got "x"/,
    );
    assertInputError(() => json({ dataframe_records: [1] }), /list of \{column: value\} records/);
    assertInputError(() => json({ inputs: { sepal_length: [1] } }), /Column "sepal_width" is missing/);
  });

  it("reads CSV with a header, quotes, CRLF and blank lines, typed by the column's input", () => {
    const feeds = csv(
      '\ufeff"petal_width",sepal_length,petal_length,sepal_width\r\n0.2,5.1,1.4,3.5\r\n\r\n1.3,6.2,4.3,2.9\r\n',
    );
    assert.deepEqual(values(feeds.float_input), values(json({ instances: rows }).float_input));
    const big = csv('big\n9223372036854775807\n"-3"\n', served(int64Model()));
    assert.deepEqual(values(big.x), [9223372036854775807n, -3n]);
  });

  it('refuses malformed CSV and non-numeric cells', () => {
    const header = 'sepal_length,sepal_width,petal_length,petal_width\n';
    assertInputError(() => csv(`${header}1,2,3`), /Row 0: expected a list of 4 values/);
    assertInputError(
      () => csv(`${header}1,2,3,NaN`),
      /Row 0: feature "petal_width" must be a finite number, got "NaN"/,
    );
    assertInputError(() => csv(`${header}1,2,3,`), /Row 0: feature "petal_width" is missing/);
    assertInputError(() => csv(`${header}1,2,"3,4`), /CSV row 0: a quoted field is not closed/);
    assertInputError(() => csv(`${header}1,2,3"x",4`), /a quote inside an unquoted field/);
    assertInputError(() => csv(`${header}1,2,"3"x,4`), /text after a closing quote/);
    assertInputError(() => csv('a,a\n1,2'), /Column "a" appears twice/);
    assertInputError(() => csv(header), /No rows/);
    assertInputError(() => csv(''), /empty/);
    assertInputError(() => csv(header + '1,2,3,4\n'.repeat(101)), /Too many rows/);
  });
});

describe('parseCsv', () => {
  it('keeps commas, newlines and doubled quotes inside quoted fields', () => {
    assert.deepEqual(parseCsv('a,b\n"x,y","say ""hi""\nthere"\n', 10), {
      columns: ['a', 'b'],
      rows: [['x,y', 'say "hi"\nthere']],
    });
    assert.deepEqual(parseCsv('a,b\n,\n', 10).rows, [['', '']]);
  });
});

describe('renderMlflow', () => {
  it("answers one label per row for classifiers, as the sklearn flavor's predict does", () => {
    assert.deepEqual(renderMlflow(iris, { label: tensor('int64', new BigInt64Array([2n, 0n]), [2]) }), {
      predictions: [2, 0],
    });
    const probsOnly = served({
      ...irisSignature(),
      labelOutput: undefined,
      outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 3] }],
    });
    assert.deepEqual(
      renderMlflow(probsOnly, {
        probabilities: tensor('float32', new Float32Array([0.1, 0.2, 0.7, 0.8, 0.1, 0.1]), [2, 3]),
      }),
      { predictions: [2, 0] },
    );
  });

  it('answers plain values for a single [N, 1] output and records for several outputs', () => {
    const outputs = {
      total: tensor('float32', new Float32Array([6, 15]), [2, 1]),
      doubled: tensor('float32', new Float32Array([2, 4, 6, 8, 10, 12]), [2, 3]),
    };
    assert.deepEqual(renderMlflow(served(twoInputSignature(), { outputNames: ['total'] }), outputs), {
      predictions: [6, 15],
    });
    assert.deepEqual(renderMlflow(two, outputs), {
      predictions: [
        { total: [6], doubled: [2, 4, 6] },
        { total: [15], doubled: [8, 10, 12] },
      ],
    });
  });
});
