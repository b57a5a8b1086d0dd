import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ZSignature } from '@modelyard/contracts';
import { inspectModel, prepareModel } from './inspect.js';
import { runInputs, runSamples } from './runner.js';
import { createSession } from './session.js';
import {
  assertMatches,
  fixture,
  pseudoRandomBytes,
  SHARED_MODELS,
  sharedModel,
  specShape,
  validationFailed,
  type SampleFile,
} from '../onnx/onnx.test-support.js';

/** Records keyed by feature name, built from input_data and each input's columns (digits has no `records`). */
function recordsOf(samples: SampleFile): Record<string, unknown>[] {
  const n = Object.values(samples.input_data)[0]!.length;
  return Array.from({ length: n }, (_, r) =>
    Object.fromEntries(
      samples.inputs.flatMap((input) =>
        input.columns!.map((c, k) => [c, (samples.input_data[input.name]![r] as unknown[])[k]]),
      ),
    ),
  );
}

const argmaxLabels = (probs: number[][], classes: (number | string)[]) =>
  probs.map((row) => classes[row.indexOf(Math.max(...row))]);

/** The checks every fixture with a samples file gets: signature as described, outputs as expected. */
function describeFixture(
  label: string,
  load: () => { bytes: Buffer; samples: SampleFile },
  skip: string | false = false,
) {
  describe(label, { skip }, () => {
    it('reads the signature the samples file describes', async () => {
      const { bytes, samples } = load();
      const { signature, warnings } = await inspectModel(bytes);
      assert.deepEqual(warnings, []);
      ZSignature.parse(signature);
      assert.deepEqual(
        signature.inputs,
        samples.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: specShape(i.shape), columns: i.columns })),
      );
      assert.equal(signature.inputs[0]!.shape[0], -1, 'the batch dim is dynamic');
      if (samples.feature_names)
        assert.deepEqual(
          signature.inputs.flatMap((i) => i.columns ?? []),
          samples.feature_names,
        );
      assert.deepEqual(
        signature.outputs,
        samples.outputs.map((o) => ({ name: o.name, dtype: o.dtype, shape: specShape(o.shape) })),
      );
      assert.deepEqual(signature.classes, samples.classes);
      assert.deepEqual(signature.classNames, samples.class_names);
      if (samples.classes) {
        assert.equal(signature.task, 'classification');
        assert.equal(signature.probabilityOutput, 'probabilities');
        assert.equal(signature.labelOutput, samples.outputs.some((o) => o.name === 'label') ? 'label' : undefined);
      } else {
        assert.equal(signature.task, 'regression');
      }
    });

    it('needs no rewrite to serve', async () => {
      const prepared = await prepareModel(load().bytes);
      assert.equal(prepared.servingBytes, undefined);
    });

    it('answers the sample inputs with the expected outputs, within tolerance', async () => {
      const { bytes, samples } = load();
      const { signature } = await inspectModel(bytes);
      const session = await createSession(bytes);
      try {
        const outputs = await runInputs(session, signature, samples.input_data);
        for (const [name, expected] of Object.entries(samples.expected)) {
          // digits_mlp has no label output: its expected `label` is derived, argmax(probabilities) -> class.
          const actual = samples.derived?.[name]
            ? argmaxLabels(outputs[signature.probabilityOutput!] as number[][], signature.classes!)
            : outputs[name]!;
          assertMatches(name, actual, expected, samples.tolerance[name]);
        }
        // Records by feature name give the same answers: the columns put each feature where the model wants it.
        assert.deepEqual(await runSamples(session, signature, samples.records ?? recordsOf(samples)), outputs);
      } finally {
        await session.release();
      }
    });
  });
}

describe('inspectModel', () => {
  for (const name of SHARED_MODELS) {
    describeFixture(`shared model ${name}`, () => sharedModel(name));
  }
  describeFixture('fixture regressor (ai.onnx.ml LinearRegressor)', () => fixture('regressor'));
  describeFixture('fixture multi_input (two inputs, flat feature_names split by width)', () => fixture('multi_input'));

  describe('files that are not a loadable ONNX model', () => {
    const iris = () => fixture('zipmap_int').bytes;

    it('refuses an empty file', async () => {
      await assert.rejects(inspectModel(Buffer.alloc(0)), validationFailed(/^The file is empty \(0 bytes\)/));
    });

    it('refuses corrupt bytes', async () => {
      const bytes = Buffer.from(iris());
      bytes.fill(0xff, 0, 24);
      await assert.rejects(
        inspectModel(bytes),
        validationFailed(/not a valid ONNX model: it could not be decoded as ONNX protobuf data/),
      );
    });

    it('refuses a truncated model, saying it is truncated', async () => {
      const whole = iris();
      for (const fraction of [0.1, 0.5, 0.6, 0.9]) {
        await assert.rejects(
          inspectModel(whole.subarray(0, Math.floor(whole.length * fraction))),
          validationFailed(/truncated/),
        );
      }
    });

    it('refuses random bytes', async () => {
      for (const seed of [1, 2, 3, 4, 5]) {
        await assert.rejects(inspectModel(pseudoRandomBytes(4096, seed)), validationFailed(/not a valid ONNX model/));
      }
    });

    it('names the format of common non-ONNX files', async () => {
      const cases: [Buffer, RegExp][] = [
        [Buffer.from(JSON.stringify({ name: 'iris', rows: [[1, 2]] })), /looks like JSON text/],
        [Buffer.from('sepal_length,sepal_width\n5.1,3.5\n'), /looks like a text file/],
        [
          Buffer.concat([Buffer.from([0x80, 0x04, 0x95]), pseudoRandomBytes(200, 9)]),
          /looks like a Python pickle .*skl2onnx/,
        ],
        [Buffer.concat([Buffer.from('PK\x03\x04'), pseudoRandomBytes(200, 9)]), /looks like a ZIP archive .*PyTorch/],
      ];
      for (const [bytes, message] of cases) await assert.rejects(inspectModel(bytes), validationFailed(message));
    });

    it('never fails with anything but VALIDATION_FAILED: every truncation point and 200 byte flips', async () => {
      const whole = iris();
      const variants = Array.from({ length: whole.length }, (_, cut) => whole.subarray(0, cut));
      for (let seed = 0; seed < 200; seed++) {
        const flipped = Buffer.from(whole);
        const [hi, lo, mask] = pseudoRandomBytes(3, seed);
        flipped[(hi! * 256 + lo!) % flipped.length]! ^= mask! | 1;
        variants.push(flipped);
      }
      for (const bytes of variants) {
        // Some flips land in weights or names and leave a valid model: success is fine, any other error is not.
        await prepareModel(bytes).catch(validationFailed(/./));
      }
    });

    it("refuses a well-formed ONNX file that onnxruntime cannot load, with onnxruntime's reason", async () => {
      await assert.rejects(
        inspectModel(fixture('unknown_op').bytes),
        validationFailed(/^onnxruntime could not load the model: .*No Op registered for NoSuchOp/),
      );
    });
  });
});
