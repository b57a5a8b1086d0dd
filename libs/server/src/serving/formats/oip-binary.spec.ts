import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TSignature, TensorDtype } from '@modelyard/contracts';
import { decodeOipBody, OipBinaryAnswer, parseOip, renderOip } from './oip-v2.format.js';
import {
  assertInputError,
  irisSignature,
  LIMITS,
  served,
  tensor,
  twoInputSignature,
  values,
} from './formats.test-support.js';

/** The OIP binary tensor extension: framing (decodeOipBody), binary inputs (parseOip) and outputs (renderOip). */

const iris = served(irisSignature());
const two = served(twoInputSignature());
const row = [5.1, 3.5, 1.4, 0.2];
const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);
const OCTET = 'application/octet-stream';

/** A request as KServe's and Triton's clients build it: the JSON header, then the tensors' bytes. */
function frame(header: unknown, ...tensors: Buffer[]) {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { raw: Buffer.concat([json, ...tensors]), length: String(json.length) };
}

const binInput = (bytes: number, over: Record<string, unknown> = {}) => ({
  name: 'float_input',
  datatype: 'FP32',
  shape: [2, 4],
  parameters: { binary_data_size: bytes },
  ...over,
});

/** decodeOipBody then parseOip, as the infer route does. */
function parseFramed(header: unknown, tensors: Buffer[], sv = iris) {
  const f = frame(header, ...tensors);
  const d = decodeOipBody(f.raw, OCTET, f.length);
  return parseOip(d.body, sv, LIMITS, d.tail);
}

function oneInput(dtype: TensorDtype, shape: number[] = [-1, 2]): TSignature {
  return { inputs: [{ name: 'x', dtype, shape }], outputs: [{ name: 'y', dtype: 'float32', shape: [-1] }] };
}

describe('decodeOipBody', () => {
  it('splits the JSON header from the tensor bytes at Inference-Header-Content-Length', () => {
    const f = frame({ inputs: [] }, f32(1, 2));
    const d = decodeOipBody(f.raw, OCTET, f.length);
    assert.deepEqual(d.body, { inputs: [] });
    assert.deepEqual([...new Float32Array(new Uint8Array(d.tail!).buffer)], [1, 2]);
  });

  it('reads a body without the header as all JSON, whatever JSON-compatible type it came with', () => {
    for (const ct of [OCTET, undefined, 'application/json; charset=utf-8', 'Application/Octet-Stream']) {
      const d = decodeOipBody(Buffer.from('{"id":"a"}'), ct, undefined);
      assert.deepEqual(d, { body: { id: 'a' }, tail: null });
    }
  });

  it('refuses other content types with a 415', () => {
    assertInputError(() => decodeOipBody(Buffer.from('{}'), 'text/plain', undefined), /text\/plain is not taken/, 415);
  });

  it('refuses a header length that is no byte count within the body', () => {
    const f = frame({ inputs: [] }, f32(1));
    for (const bad of ['abc', '-1', '1.5', '', '1e3', '0x10']) {
      assertInputError(() => decodeOipBody(f.raw, OCTET, bad), /must be one decimal byte count/);
    }
    assertInputError(() => decodeOipBody(f.raw, OCTET, ['3', '3']), /must be one decimal byte count/);
    assertInputError(() => decodeOipBody(f.raw, OCTET, '0'), /is 0, the body has 17 bytes/);
    assertInputError(() => decodeOipBody(f.raw, OCTET, '18'), /is 18, the body has 17 bytes/);
    assertInputError(() => decodeOipBody(f.raw, OCTET, '99999999999999999999'), /one decimal byte count/);
  });

  it('refuses a JSON part that does not parse, including one cut short by the header length', () => {
    const f = frame({ inputs: [] }, f32(1));
    assertInputError(() => decodeOipBody(f.raw, OCTET, '5'), /not valid JSON/);
    assertInputError(() => decodeOipBody(Buffer.from('{"inputs":'), OCTET, undefined), /not valid JSON/);
    assertInputError(() => decodeOipBody(Buffer.alloc(0), undefined, undefined), /not valid JSON/);
  });

  it('refuses __proto__ and constructor.prototype keys, as the JSON routes do', () => {
    assertInputError(
      () => decodeOipBody(Buffer.from('{"__proto__":{"admin":true}}'), OCTET, undefined),
      /__proto__ or constructor.prototype/,
    );
    const f = frame({ constructor: { prototype: { x: 1 } } }, f32(1));
    assertInputError(() => decodeOipBody(f.raw, OCTET, f.length), /__proto__ or constructor.prototype/);
  });
});

describe('parseOip with binary inputs', () => {
  it('reads a binary FP32 input into the same tensor as its JSON form', () => {
    const bin = parseFramed({ inputs: [binInput(32)] }, [f32(...row, ...row)]);
    const json = parseOip({ inputs: [{ ...binInput(0), parameters: {}, data: [...row, ...row] }] }, iris, LIMITS);
    assert.deepEqual(bin.feeds.float_input!.dims, [2, 4]);
    assert.deepEqual(values(bin.feeds.float_input), values(json.feeds.float_input));
  });

  it('takes binary inputs from the tail in input order, beside JSON ones', () => {
    const r = parseFramed(
      {
        inputs: [
          { name: 'b', datatype: 'FP32', shape: [2, 1], parameters: { binary_data_size: 8 } },
          { name: 'a', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] },
        ],
      },
      [f32(7, 8)],
      two,
    );
    assert.deepEqual(values(r.feeds.b), [7, 8]);
    assert.deepEqual(values(r.feeds.a), [1, 2, 3, 4]);
    const both = parseFramed(
      {
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } },
          { name: 'b', datatype: 'FP32', shape: [1, 1], parameters: { binary_data_size: 4 } },
        ],
      },
      [f32(1, 2), f32(3)],
      two,
    );
    assert.deepEqual([values(both.feeds.a), values(both.feeds.b)], [[1, 2], [3]]);
  });

  it('reads every fixed-size datatype little-endian, INT64 exactly, FP16 as its bits', () => {
    const cases: [TensorDtype, string, Buffer, unknown[]][] = [
      ['float64', 'FP64', Buffer.from(new Float64Array([0.1, -2]).buffer), [0.1, -2]],
      ['int64', 'INT64', Buffer.from(new BigInt64Array([2n ** 63n - 1n, -5n]).buffer), [2n ** 63n - 1n, -5n]],
      ['uint64', 'UINT64', Buffer.from(new BigUint64Array([2n ** 64n - 1n, 0n]).buffer), [2n ** 64n - 1n, 0n]],
      ['int32', 'INT32', Buffer.from(new Int32Array([-7, 2 ** 31 - 1]).buffer), [-7, 2 ** 31 - 1]],
      ['uint16', 'UINT16', Buffer.from([0x34, 0x12, 0xff, 0xff]), [0x1234, 0xffff]],
      ['int8', 'INT8', Buffer.from([0xff, 0x01]), [-1, 1]],
      ['uint8', 'UINT8', Buffer.from([0, 255]), [0, 255]],
      ['bool', 'BOOL', Buffer.from([1, 0]), [1, 0]],
      ['float16', 'FP16', Buffer.from([0x00, 0x3c, 0x00, 0xc0]), [0x3c00, 0xc000]],
    ];
    for (const [dtype, datatype, bytes, want] of cases) {
      const input = { name: 'x', datatype, shape: [1, 2], parameters: { binary_data_size: bytes.length } };
      const r = parseFramed({ inputs: [input] }, [bytes], served(oneInput(dtype)));
      assert.equal(r.feeds.x!.type, dtype, datatype);
      assert.deepEqual(values(r.feeds.x), want, datatype);
    }
  });

  it('reads BYTES as 4-byte-length-prefixed UTF-8 strings when the model takes strings', () => {
    const el = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b.length);
      return Buffer.concat([n, b]);
    };
    const bytes = Buffer.concat([el('héllo'), el('')]);
    const sv = served(oneInput('string', [-1, -1]));
    const input = (size: number, shape = [1, 2]) => ({
      name: 'x',
      datatype: 'BYTES',
      shape,
      parameters: { binary_data_size: size },
    });
    assert.deepEqual(values(parseFramed({ inputs: [input(bytes.length)] }, [bytes], sv).feeds.x), ['héllo', '']);
    assertInputError(
      () => parseFramed({ inputs: [input(bytes.length, [1, 3])] }, [bytes], sv),
      /needs 3 BYTES elements, the binary data holds 2/,
    );
    assertInputError(
      () => parseFramed({ inputs: [input(bytes.length, [1, 1])] }, [bytes], sv),
      /holds more than 1 BYTES elements/,
    );
    assertInputError(() => parseFramed({ inputs: [input(6)] }, [bytes.subarray(0, 6)], sv), /says 6 bytes, 2 are left/);
    assertInputError(() => parseFramed({ inputs: [input(11)] }, [bytes.subarray(0, 11)], sv), /truncated length/);
    const latin1 = Buffer.from([1, 0, 0, 0, 0xe9, 0, 0, 0, 0]);
    assertInputError(() => parseFramed({ inputs: [input(9)] }, [latin1], sv), /element 0 is not UTF-8 text/);
    // A model that takes numbers is told so, whatever the bytes.
    assertInputError(
      () => parseFramed({ inputs: [{ ...input(bytes.length, [2, 4]), name: 'float_input' }] }, [bytes]),
      /has datatype FP32, got "BYTES"/,
    );
  });

  it('refuses sizes that disagree with the shape or with the tail', () => {
    assertInputError(
      () => parseFramed({ inputs: [binInput(28)] }, [f32(...row, 1, 2, 3)]),
      /shape \[2, 4\] of FP32 needs 32 bytes, binary_data_size is 28/,
    );
    assertInputError(
      () => parseFramed({ inputs: [binInput(32)] }, [f32(...row)]),
      /binary_data_size is 32, only 16 bytes of binary data left/,
    );
    assertInputError(
      () => parseFramed({ inputs: [binInput(32)] }, [f32(...row, ...row, 9)]),
      /binary part of the body has 36 bytes, the inputs' binary_data_size add up to 32/,
    );
    // A header that announces a binary part no input reads.
    assertInputError(
      () => parseFramed({ inputs: [{ ...binInput(0), parameters: {}, data: [...row, ...row] }] }, [f32(1)]),
      /has 4 bytes, the inputs' binary_data_size add up to 0/,
    );
  });

  it('refuses a malformed binary_data_size, data beside it, or binary data without a binary part', () => {
    for (const bad of [-4, 1.5, '32', null, 2 ** 60]) {
      assertInputError(
        () => parseFramed({ inputs: [binInput(0, { parameters: { binary_data_size: bad } })] }, []),
        /binary_data_size must be a non-negative integer/,
      );
    }
    assertInputError(
      () => parseFramed({ inputs: [binInput(32, { data: [...row, ...row] })] }, [f32(...row, ...row)]),
      /either data or binary_data_size, not both/,
    );
    assertInputError(
      () => parseOip({ inputs: [binInput(32)] }, iris, LIMITS),
      /has binary_data_size but the body has no binary part: send the Inference-Header-Content-Length/,
    );
    assertInputError(
      () => parseFramed({ inputs: [binInput(32, { parameters: 7 })] }, []),
      /parameters must be an object/,
    );
  });

  it('checks binary values as JSON values are checked: finite floats, BOOL 0 or 1', () => {
    assertInputError(
      () => parseFramed({ inputs: [binInput(32)] }, [f32(...row, 1, Number.NaN, 3, 4)]),
      /element 5 must be a finite number, got NaN/,
    );
    const bool = { name: 'x', datatype: 'BOOL', shape: [1, 2], parameters: { binary_data_size: 2 } };
    assertInputError(
      () => parseFramed({ inputs: [bool] }, [Buffer.from([1, 2])], served(oneInput('bool'))),
      /element 1 must be a BOOL byte \(0 or 1\), got 2/,
    );
  });

  it('applies the row limit and the model shape before reading any bytes', () => {
    assertInputError(
      () => parseFramed({ inputs: [binInput(101 * 16, { shape: [101, 4] })] }, [Buffer.alloc(101 * 16)]),
      /101 rows \(the limit is 100/,
    );
    assertInputError(
      () => parseFramed({ inputs: [binInput(24, { shape: [2, 3] })] }, [Buffer.alloc(24)]),
      /does not fit/,
    );
  });

  it("reads binary_data_output and per-output binary_data, the output's own flag winning", () => {
    const base = { inputs: [{ ...binInput(0), parameters: {}, data: row, shape: [1, 4] }] };
    const none = parseOip(base, iris, LIMITS);
    assert.equal(none.binaryOutput('label'), false);
    const all = parseOip({ ...base, parameters: { binary_data_output: true } }, iris, LIMITS);
    assert.equal(all.binaryOutput('label'), true);
    const mixed = parseOip(
      {
        ...base,
        parameters: { binary_data_output: true },
        outputs: [{ name: 'label', parameters: { binary_data: false } }, { name: 'probabilities' }],
      },
      iris,
      LIMITS,
    );
    assert.deepEqual([mixed.binaryOutput('label'), mixed.binaryOutput('probabilities')], [false, true]);
    assertInputError(
      () => parseOip({ ...base, parameters: { binary_data_output: 'yes' } }, iris, LIMITS),
      /"parameters".binary_data_output must be true or false/,
    );
    assertInputError(() => parseOip({ ...base, parameters: [] }, iris, LIMITS), /"parameters" must be an object/);
    assertInputError(
      () => parseOip({ ...base, outputs: [{ name: 'label', parameters: { binary_data: 1 } }] }, iris, LIMITS),
      /outputs\[0\].parameters.binary_data must be true or false/,
    );
  });
});

describe('renderOip with binary outputs', () => {
  const outputs = {
    label: tensor('int64', new BigInt64Array([0n, 2n ** 60n]), [2]),
    probabilities: tensor('float32', new Float32Array([0.5, 0.25, 0.25, 0, 0, 1]), [2, 3]),
  };
  const names = ['label', 'probabilities'];

  /** The answer as a client reads it: the JSON header, then each binary output's bytes in order. */
  function read(a: OipBinaryAnswer) {
    assert.equal(a.headers()['inference-header-content-length'], String(a.headerLength));
    assert.equal(a.headers()['content-type'], 'application/octet-stream');
    const header = JSON.parse(a.bytes.toString('utf8', 0, a.headerLength)) as {
      outputs: {
        name: string;
        datatype: string;
        shape: number[];
        data?: unknown;
        parameters?: Record<string, number>;
      }[];
    };
    let at = a.headerLength;
    const raw: Record<string, Buffer> = {};
    for (const o of header.outputs) {
      const n = o.parameters?.binary_data_size;
      if (n === undefined) continue;
      raw[o.name] = a.bytes.subarray(at, at + n);
      at += n;
    }
    assert.equal(at, a.bytes.length);
    return { header, raw };
  }

  it('answers plain JSON when no output is asked for as binary', () => {
    const r = renderOip(iris, outputs, names, 'id-1', () => false);
    assert.ok(!(r instanceof OipBinaryAnswer));
    assert.deepEqual(r.outputs[1]!.data, [0.5, 0.25, 0.25, 0, 0, 1]);
  });

  it('answers every output as raw little-endian bytes with binary_data_size in the header', () => {
    const a = renderOip(iris, outputs, names, 'id-1', () => true);
    assert.ok(a instanceof OipBinaryAnswer);
    const { header, raw } = read(a);
    assert.deepEqual(header.outputs[0], {
      name: 'label',
      datatype: 'INT64',
      shape: [2],
      parameters: { binary_data_size: 16 },
    });
    assert.equal(raw.label!.readBigInt64LE(8), 2n ** 60n);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => raw.probabilities!.readFloatLE(i * 4)),
      [0.5, 0.25, 0.25, 0, 0, 1],
    );
  });

  it('mixes JSON and binary outputs as asked, keeping the order', () => {
    const a = renderOip(iris, outputs, names, 'id-1', (n) => n === 'probabilities');
    assert.ok(a instanceof OipBinaryAnswer);
    const { header, raw } = read(a);
    assert.deepEqual(header.outputs[0]!.data, [0, '1152921504606846976']);
    assert.deepEqual(Object.keys(raw), ['probabilities']);
  });

  it('answers FP16 (no JSON form) and BYTES outputs in binary', () => {
    const a = renderOip(
      iris,
      { h: tensor('float16', new Uint16Array([0x3c00]), [1]), s: tensor('string', ['é', ''], [2]) },
      ['h', 's'],
      'x',
      () => true,
    );
    assert.ok(a instanceof OipBinaryAnswer);
    const { raw } = read(a);
    assert.deepEqual([...raw.h!], [0x00, 0x3c]);
    assert.deepEqual([...raw.s!], [2, 0, 0, 0, 0xc3, 0xa9, 0, 0, 0, 0]);
  });

  it('lets an FP16 output through the outputs filter only when it is asked for as binary', () => {
    const sv = served({
      inputs: irisSignature().inputs,
      outputs: [{ name: 'h', dtype: 'float16', shape: [-1] }],
    });
    const base = { inputs: [{ ...binInput(0), parameters: {}, data: row, shape: [1, 4] }] };
    assertInputError(() => parseOip({ ...base, outputs: [{ name: 'h' }] }, sv, LIMITS), /FP16, which has no JSON form/);
    const r = parseOip({ ...base, outputs: [{ name: 'h', parameters: { binary_data: true } }] }, sv, LIMITS);
    assert.deepEqual(r.outputs, ['h']);
  });
});
