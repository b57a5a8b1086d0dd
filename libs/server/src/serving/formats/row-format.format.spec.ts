import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRowFormat, renderRowFormat, renderTfsMetadata, tfsVersionStatus } from './row-format.format.js';
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

describe('parseRowFormat', () => {
  it('reads instances as rows of values, as feature records and as named inputs alike', () => {
    const asRows = parseRowFormat({ instances: rows, signature_name: 'serving_default' }, iris, LIMITS);
    const asRecords = parseRowFormat({ instances: records }, iris, LIMITS);
    const asNamed = parseRowFormat({ instances: rows.map((r) => ({ float_input: r })) }, iris, LIMITS);
    for (const r of [asRows, asRecords, asNamed]) {
      assert.equal(r.columnar, false);
      assert.deepEqual(r.feeds.float_input!.dims, [2, 4]);
      assert.deepEqual(values(r.feeds.float_input), values(asRows.feeds.float_input));
    }
  });

  it('gives each input of a multi-input model its own tensor from named instances', () => {
    const r = parseRowFormat(
      {
        instances: [
          { a: [1, 2], b: [3] },
          { a: [4, 5], b: 6 },
        ],
      },
      two,
      LIMITS,
    );
    assert.deepEqual(values(r.feeds.a), [1, 2, 4, 5]);
    assert.deepEqual(values(r.feeds.b), [3, 6]);
    assert.deepEqual(r.feeds.b!.dims, [2, 1]);
    assertInputError(
      () => parseRowFormat({ instances: [{ a: [1, 2], b: [3], c: 1 }] }, two, LIMITS),
      /Instance 0: unknown input "c"/,
    );
    assertInputError(
      () => parseRowFormat({ instances: [{ a: [1, 2], b: [3] }, { a: [1, 2] }] }, two, LIMITS),
      /Instance 1: input "b" is missing/,
    );
    assertInputError(
      () => parseRowFormat({ instances: [{ a: [1, 2], b: [3] }, [1, 2, 3]] }, two, LIMITS),
      /Instance 1: expected an object/,
    );
  });

  it('reads inputs as one tensor or as named tensors, and answers columnar', () => {
    const one = parseRowFormat({ inputs: rows }, iris, LIMITS);
    assert.equal(one.columnar, true);
    assert.deepEqual(one.feeds.float_input!.dims, [2, 4]);
    const named = parseRowFormat({ inputs: { a: [[1, 2]], b: [[3]] } }, two, LIMITS);
    assert.deepEqual(values(named.feeds.b), [3]);
    assertInputError(() => parseRowFormat({ inputs: 'x' }, iris, LIMITS), /"inputs" must be a tensor/);
    assertInputError(() => parseRowFormat({ inputs: { nope: rows } }, iris, LIMITS), /Input "float_input" is missing/);
  });

  it('refuses both, neither, an empty or oversized batch, and bad values', () => {
    assertInputError(() => parseRowFormat({ instances: rows, inputs: rows }, iris, LIMITS), /not both/);
    assertInputError(() => parseRowFormat({ signature_name: 'x' }, iris, LIMITS), /must have "instances"/);
    assertInputError(() => parseRowFormat({ instances: rows, signature_name: 1 }, iris, LIMITS), /signature_name/);
    assertInputError(() => parseRowFormat(null, iris, LIMITS), /JSON object/);
    assertInputError(() => parseRowFormat({ instances: {} }, iris, LIMITS), /must be a list/);
    assertInputError(() => parseRowFormat({ instances: [] }, iris, LIMITS), /No rows/);
    assertInputError(
      () => parseRowFormat({ instances: new Array(101).fill(rows[0]) }, iris, LIMITS),
      /Too many rows: 101/,
    );
    assertInputError(() => parseRowFormat({ instances: [[1, 2, 3]] }, iris, LIMITS), /Row 0: expected 4 values, got 3/);
    assertInputError(
      () => parseRowFormat({ instances: [[1, 2, 3, null]] }, iris, LIMITS),
      /Row 0: feature "petal_width" must be a finite number, got null/,
    );
  });
});

describe('renderRowFormat', () => {
  const outputs = {
    label: tensor('int64', new BigInt64Array([0n, 1n]), [2]),
    probabilities: tensor('float32', new Float32Array([1, 0, 0, 0, 1, 0]), [2, 3]),
  };

  it('answers one object per row keyed by output name when the model has several outputs', () => {
    assert.deepEqual(renderRowFormat(iris, outputs, false), {
      predictions: [
        { label: 0, probabilities: [1, 0, 0] },
        { label: 1, probabilities: [0, 1, 0] },
      ],
    });
  });

  it('answers the value per row for a single output, and whole tensors when columnar', () => {
    const one = served(irisSignature(), { outputNames: ['probabilities'] });
    assert.deepEqual(renderRowFormat(one, outputs, false), {
      predictions: [
        [1, 0, 0],
        [0, 1, 0],
      ],
    });
    assert.deepEqual(renderRowFormat(one, outputs, true), {
      outputs: [
        [1, 0, 0],
        [0, 1, 0],
      ],
    });
    assert.deepEqual(renderRowFormat(iris, outputs, true), {
      outputs: {
        label: [0, 1],
        probabilities: [
          [1, 0, 0],
          [0, 1, 0],
        ],
      },
    });
  });
});

describe('renderTfsMetadata', () => {
  it('describes the serving_default signature with TF dtypes and -1 for open dims', () => {
    const m = renderTfsMetadata(iris);
    assert.deepEqual(m.model_spec, { name: 'm', signature_name: '', version: '3' });
    const sig = m.metadata.signature_def.signature_def.serving_default;
    assert.deepEqual(sig.inputs.float_input, {
      dtype: 'DT_FLOAT',
      name: 'float_input',
      tensor_shape: {
        dim: [
          { size: '-1', name: '' },
          { size: '4', name: '' },
        ],
        unknown_rank: false,
      },
    });
    assert.equal((sig.outputs.label as { dtype: string }).dtype, 'DT_INT64');
    assert.equal(sig.method_name, 'tensorflow/serving/predict');
  });
});

describe('tfsVersionStatus', () => {
  it('says OK unless there is an error', () => {
    assert.deepEqual(tfsVersionStatus(4, 'AVAILABLE'), {
      version: '4',
      state: 'AVAILABLE',
      status: { error_code: 'OK', error_message: '' },
    });
    assert.deepEqual(tfsVersionStatus(4, 'UNAVAILABLE', 'bad file').status, {
      error_code: 'UNKNOWN',
      error_message: 'bad file',
    });
  });
});
