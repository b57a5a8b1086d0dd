import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openServedSession } from './session.js';
import { SideRunner } from './side-runner.js';
import { Tensor } from './ort.js';
import type { ServedVersion } from './version-pool.js';

// Unit tests run from the repository root (npm test sets cwd).
const fixture = path.resolve('test/fixtures/models/iris_logreg');

describe('the side runner (silent runs off the event loop)', () => {
  it('answers what the same model answers on the main thread, from a lower-priority thread', async () => {
    const bytes = readFileSync(path.join(fixture, 'model.onnx'));
    const samples = JSON.parse(readFileSync(path.join(fixture, 'samples.json'), 'utf8')) as {
      input_data: { float_input: number[][] };
    };
    const rows = samples.input_data.float_input.slice(0, 5);
    const feeds = { float_input: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) };
    const session = await openServedSession(bytes, 1);
    const sv = { model: 'iris', version: 1, versionId: 'v-1', session, outputNames: [...session.outputNames] };
    const here = await session.run(feeds, sv.outputNames);
    let reads = 0;
    const side = new SideRunner({ nice: 19, threads: 1 }, () => {
      reads++;
      return Promise.resolve(new Uint8Array(bytes));
    });
    try {
      const [ra, rb] = await Promise.all([
        side.run(sv as unknown as ServedVersion, feeds),
        side.run(sv as unknown as ServedVersion, feeds),
      ]);
      for (const out of [ra.outputs, rb.outputs])
        for (const name of sv.outputNames) {
          assert.deepEqual(out[name]!.dims, here[name]!.dims, name);
          assert.deepEqual(
            Array.from(out[name]!.data as ArrayLike<unknown>),
            Array.from(here[name]!.data as ArrayLike<unknown>),
          );
        }
      assert.equal(reads, 1, 'the version is copied to the thread once');
      // Linux: one thread of this process now runs at nice 19, the event loop's thread is unchanged.
      if (process.platform === 'linux') {
        const nices = readdirSync('/proc/self/task').map((tid) => os.getPriority(Number(tid)));
        assert.equal(os.getPriority(process.pid), 0);
        assert.ok(nices.includes(19), `thread priorities: ${nices.join(', ')}`);
      }
    } finally {
      await side.close();
      await session.release();
    }
  });

  it("a run on a version the thread cannot load fails with onnxruntime's reason, and the next one still answers", async () => {
    const bytes = readFileSync(path.join(fixture, 'model.onnx'));
    const session = await openServedSession(bytes, 1);
    const feeds = { float_input: new Tensor('float32', new Float32Array([5.1, 3.5, 1.4, 0.2]), [1, 4]) };
    const good = { model: 'iris', version: 1, versionId: 'good', session, outputNames: [...session.outputNames] };
    const bad = { ...good, versionId: 'bad' };
    const side = new SideRunner({ nice: 19, threads: 1 }, (sv) =>
      Promise.resolve(sv.versionId === 'bad' ? new Uint8Array([1, 2, 3]) : new Uint8Array(bytes)),
    );
    try {
      await assert.rejects(side.run(bad as unknown as ServedVersion, feeds), /protobuf parsing failed/);
      const { outputs, ms } = await side.run(good as unknown as ServedVersion, feeds);
      assert.deepEqual(outputs[good.outputNames[0]!]!.dims, [1]);
      assert.ok(ms >= 0 && ms < 1000, `the session run alone: ${ms} ms`);
    } finally {
      await side.close();
      await session.release();
    }
  });
});
