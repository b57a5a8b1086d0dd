import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspectModel, prepareModel } from '../engine/inspect.js';
import { Tensor } from '../engine/ort.js';
import { runInputs } from '../engine/runner.js';
import { createSession } from '../engine/session.js';
import { readOnnxModel } from './onnx-model.js';
import { FIELD, OnnxTypes } from './onnx-proto.js';
import { encodeLengthDelimited, scanFields } from './onnx-wire.js';
import { stripZipMap, ZIPMAP_METADATA_KEY } from './onnx-zipmap.js';
import { assertMatches, fixture, validationFailed } from './onnx.test-support.js';

const metadataEntry = (key: string, value: string) =>
  encodeLengthDelimited(FIELD.model.metadataProps, OnnxTypes.StringStringEntryProto.encode({ key, value }).finish());

const CASES = [
  { name: 'zipmap_int', keyType: 'int64', classes: [10, 20, 30] },
  { name: 'zipmap_str', keyType: 'string', classes: ['setosa', 'versicolor', 'virginica'] },
] as const;

describe('stripZipMap', () => {
  for (const c of CASES) {
    describe(`${c.name} (${c.keyType} labels)`, () => {
      const { bytes: raw, samples } = fixture(c.name);
      const rows = samples.input_data.float_input as number[][];
      const firstRows = () => new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]);

      it('the raw model loads, but onnxruntime-node cannot fetch its seq(map) output', async () => {
        const session = await createSession(raw);
        try {
          assert.deepEqual(
            session.outputMetadata.map((m) => m.isTensor),
            [true, false],
          );
          await assert.rejects(
            session.run({ float_input: firstRows() }),
            /Non tensor type is temporarily not supported/,
          );
          await assert.rejects(
            session.run({ float_input: firstRows() }, ['output_probability']),
            /Non tensor type is temporarily not supported/,
          );
          const { output_label } = await session.run({ float_input: firstRows() }, ['output_label']);
          assert.deepEqual(
            Array.from(output_label!.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
            samples.expected.output_label,
          );
        } finally {
          await session.release();
        }
      });

      it('inspectModel on the raw model leaves the ZipMap output out, with a warning, and still finds the classes', async () => {
        const { signature, warnings } = await inspectModel(raw);
        assert.deepEqual(
          signature.outputs.map((o) => o.name),
          ['output_label'],
        );
        assert.equal(signature.labelOutput, 'output_label');
        assert.equal(signature.probabilityOutput, undefined);
        assert.deepEqual(signature.classes, c.classes);
        assert.ok(
          warnings.some((w) => /"output_probability" is a ZipMap .*cannot return/.test(w)),
          warnings.join('\n'),
        );
      });

      it('replaces ZipMap by a float [N, C] output of the same name that serves the expected probabilities', async () => {
        const stripped = stripZipMap(raw);
        assert.equal(stripped.changed, true);
        assert.deepEqual(stripped.classes, c.classes);
        assert.deepEqual(
          stripped.zipMaps.map((z) => [z.input, z.output, z.keyType]),
          [['probability_tensor', 'output_probability', c.keyType]],
        );
        assert.deepEqual(stripped.warnings, []);

        const { signature, warnings } = await inspectModel(stripped.bytes);
        assert.deepEqual(warnings, []);
        assert.deepEqual(
          signature.outputs,
          samples.outputs.map((o) => ({ name: o.name, dtype: o.dtype, shape: [-1, ...o.shape.slice(1)] })),
        );
        assert.equal(signature.probabilityOutput, 'output_probability');
        assert.equal(signature.labelOutput, 'output_label');
        assert.equal(signature.task, 'classification');
        assert.deepEqual(signature.classes, c.classes, 'classes carried over from the ZipMap attribute');

        const session = await createSession(stripped.bytes);
        try {
          const outputs = await runInputs(session, signature, samples.input_data);
          assertMatches(
            'output_probability',
            outputs.output_probability!,
            samples.expected.output_probability!,
            samples.tolerance.output_probability,
          );
          assertMatches('output_label', outputs.output_label!, samples.expected.output_label!, 'exact');
        } finally {
          await session.release();
        }
      });

      it('records the classes and what it changed in metadata_props, so the stripped file stands alone', () => {
        const model = readOnnxModel(stripZipMap(raw).bytes);
        assert.deepEqual(model.zipMaps, []);
        assert.deepEqual(model.nonTensorOutputs, []);
        assert.deepEqual(model.classes, c.classes);
        assert.deepEqual(JSON.parse(model.metadata[ZIPMAP_METADATA_KEY]!), [
          { output: 'output_probability', input: 'probability_tensor', keyType: c.keyType, classes: c.classes },
        ]);
        assert.equal(model.outputs.find((o) => o.name === 'output_probability')!.type, 'tensor(float)[?,3]');
      });

      it('prepareModel returns the stripped bytes to serve', async () => {
        const prepared = await prepareModel(raw);
        assert.ok(prepared.servingBytes);
        assert.deepEqual(prepared.servingBytes, stripZipMap(raw).bytes);
        assert.equal(prepared.signature.probabilityOutput, 'output_probability');
        assert.deepEqual(prepared.signature.classes, c.classes);
        assert.match(prepared.warnings[0]!, /"output_probability" now returns a float tensor/);
      });
    });
  }

  it('keeps feature names from comma-separated metadata', async () => {
    const { signature } = await inspectModel(stripZipMap(fixture('zipmap_str').bytes).bytes);
    assert.deepEqual(signature.inputs[0]!.columns, ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
  });

  it('leaves a model without ZipMap untouched (and is idempotent)', () => {
    const { bytes } = fixture('regressor');
    const result = stripZipMap(bytes);
    assert.equal(result.changed, false);
    assert.equal(result.bytes, bytes);
    const once = stripZipMap(fixture('zipmap_int').bytes).bytes;
    assert.equal(stripZipMap(once).changed, false);
  });

  it('copies fields it does not know byte for byte', () => {
    const unknown = encodeLengthDelimited(99, Buffer.from('kept as is'));
    const result = stripZipMap(Buffer.concat([fixture('zipmap_int').bytes, unknown]));
    const kept = scanFields(result.bytes).filter((f) => f.field === 99);
    assert.equal(kept.length, 1);
    assert.equal(Buffer.from(result.bytes.subarray(kept[0]!.valueStart, kept[0]!.valueEnd)).toString(), 'kept as is');
  });

  it('replaces metadata classes that contradict the ZipMap labels, and says so', async () => {
    const raw = Buffer.concat([fixture('zipmap_int').bytes, metadataEntry('classes', '0,1,2')]);
    const result = stripZipMap(raw);
    assert.ok(
      result.warnings.some((w) => /metadata classes \[0,1,2\] differ from the ZipMap labels \[10,20,30\]/.test(w)),
      result.warnings.join('\n'),
    );
    const model = readOnnxModel(result.bytes);
    assert.deepEqual(model.classes, [10, 20, 30]);
    assert.deepEqual(model.warnings, [], 'exactly one classes entry is left');
  });

  it('refuses bytes that are not an ONNX model', () => {
    assert.throws(() => stripZipMap(Buffer.from('not a model at all')), validationFailed(/not an ONNX model/));
  });
});
