import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../platform/errors.js';
import { hostile, sharedModel } from '../onnx/onnx.test-support.js';
import { ContainedSession } from './contained-session.js';
import { Tensor } from './ort.js';
import { RUN_DROPPED } from './run-gate.js';
import { openServedSession } from './session.js';

const int64Rows = (...v: number[]) => ({ X: new Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length, 1]) });
const appError = (code: string, message: RegExp) => (e: unknown) =>
  e instanceof AppError && e.code === code && message.test(e.message);

// Real child processes and onnxruntime: each case costs a process start (a fraction of a second).
describe('ContainedSession', () => {
  it("answers what onnxruntime answers on the event loop, with the model's names", async () => {
    const { bytes, samples } = sharedModel('iris_logreg');
    const rows = samples.input_data.float_input as number[][];
    const feeds = { float_input: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) };
    const [inProcess, contained] = [
      await openServedSession(bytes, 1),
      await ContainedSession.open(bytes, 1, LIMITS, 'spec'),
    ];
    try {
      assert.deepEqual(contained.inputNames, inProcess.inputNames);
      assert.deepEqual(contained.outputNames, inProcess.outputNames);
      const [want, got] = [
        await inProcess.run(feeds, ['label', 'probabilities']),
        await contained.run(feeds, ['label', 'probabilities']),
      ];
      for (const name of ['label', 'probabilities']) {
        assert.equal(got[name]!.type, want[name]!.type);
        assert.deepEqual(got[name]!.dims, want[name]!.dims);
        assert.deepEqual(got[name]!.data, want[name]!.data);
      }
    } finally {
      await Promise.all([inProcess.release(), contained.release()]);
    }
  });

  it('stops a run past the time limit (NOT_READY), drops one still waiting at its deadline, runs the next in a new process', async () => {
    const s = await ContainedSession.open(hostile('loop-by-input'), 1, { memoryMb: 512, runSeconds: 1 }, 'spec');
    try {
      const started = performance.now();
      const endless = s.run(int64Rows(1e15), ['Y']);
      const late = s.run(int64Rows(2), ['Y'], started + 200);
      const patient = s.run(int64Rows(3, 1), ['Y']);
      await assert.rejects(
        endless,
        appError('NOT_READY', /^The model ran longer than 1 s on this input and was stopped\.$/),
      );
      assert.ok(performance.now() - started < 3000, 'stopped at the limit');
      await assert.rejects(late, (e) => e === RUN_DROPPED);
      assert.deepEqual([...((await patient).Y!.data as Float32Array)], [6, 4]);
    } finally {
      await s.release();
    }
  });

  it("fails a run past the memory cap as the input's (BAD_REQUEST), and keeps serving", async () => {
    // ConstantOfShape([30000, 30000]): 3.6 GB of floats against a 512 MB cap.
    const s = await ContainedSession.open(hostile('shape-blowup'), 1, { memoryMb: 512, runSeconds: 20 }, 'spec');
    try {
      const shape = (a: number, b: number) => ({
        X: new Tensor('int64', BigInt64Array.from([BigInt(a), BigInt(b)]), [2]),
      });
      await assert.rejects(
        s.run(shape(30_000, 30_000), ['Y']),
        appError('BAD_REQUEST', /more than the 512 MB of memory/),
      );
      assert.deepEqual([...((await s.run(shape(3, 4), ['Y'])).Y!.data as Float32Array)], [0]);
    } finally {
      await s.release();
    }
  });

  it('refuses runs once released', async () => {
    const s = await ContainedSession.open(sharedModel('iris_logreg').bytes, 1, LIMITS, 'spec');
    await s.release();
    await assert.rejects(s.run({}, ['label']), appError('NOT_READY', /unloaded/));
  });
});

const LIMITS = { memoryMb: 512, runSeconds: 20 };
