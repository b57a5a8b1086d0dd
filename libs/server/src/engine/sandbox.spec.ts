import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runInSandbox } from './sandbox.js';
import { hostile, sharedModel, validationFailed } from '../onnx/onnx.test-support.js';

// Real child processes and onnxruntime: each case costs a process start (a fraction of a second).
describe('runInSandbox', () => {
  it("validates a good model in the child: signature, warnings and the sample rows' outputs", async () => {
    const { bytes, samples } = sharedModel('iris_logreg');
    const rows = (samples.input_data.float_input as number[][]).slice(0, 2);
    const { result } = await runInSandbox(bytes, { task: 'validate', rows });
    assert.deepEqual(
      (result.signature as { inputs: { name: string }[] }).inputs.map((i) => i.name),
      ['float_input'],
    );
    assert.deepEqual(
      (result.sampleOutput as { label: number[] }).label,
      (samples.expected.label as number[]).slice(0, 2),
    );
  });

  it('ends a model whose run never finishes at the time limit', async () => {
    const started = Date.now();
    await assert.rejects(
      runInSandbox(hostile('loop-forever'), { task: 'validate' }, { memoryMb: 1024, timeoutSeconds: 3 }),
      validationFailed(/^Validation took longer than 3 s/),
    );
    assert.ok(Date.now() - started < 6000);
  });

  it('refuses absurd declared dims before a row of them is built', async () => {
    await assert.rejects(
      runInSandbox(hostile('absurd-dims'), { task: 'validate' }, { memoryMb: 512, timeoutSeconds: 30 }),
      validationFailed(
        /^Input "X" declares 500000000 values per row \(shape \[-1,500000000\]\); at most 16777216 can be served/,
      ),
    );
  });

  it('ends a model whose sample rows blow up a shape at the memory cap', async () => {
    await assert.rejects(
      runInSandbox(
        hostile('shape-blowup'),
        { task: 'validate', rows: [[100_000], [100_000]] },
        { memoryMb: 512, timeoutSeconds: 30 },
      ),
      validationFailed(/^Validation used more than 512 MB of memory/),
    );
  });

  it("refuses external data with the walker's reason", async () => {
    await assert.rejects(
      runInSandbox(hostile('external-cwd'), { task: 'validate', rows: [[0]] }),
      validationFailed(/^The model references external data/),
    );
  });
});
