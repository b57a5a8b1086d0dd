import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { hostile, sharedModel } from '../onnx/onnx.test-support.js';
import { OnnxTypes } from '../onnx/onnx-proto.js';
import { AppError } from '../platform/errors.js';
import { inspectModel } from './inspect.js';
import { runSamples, runVersion } from './runner.js';
import { ContainedSession } from './contained-session.js';
import { Tensor } from './ort.js';
import { createSession } from './session.js';
import { feedsFromRecords, tensorToJson } from './tensors.js';
import { SLOW_RUN_MS, timedRun, VersionPool, type VersionPoolHooks } from './version-pool.js';

const iris = sharedModel('iris_logreg');
const rows = iris.samples.records!.slice(0, 5);

/**
 * A pool over real onnxruntime sessions of iris_logreg (or `bytes`, warmed with a row of zeros), with the registry
 * and storage as counters.
 */
async function pool(
  opts: { maxLoadedMb?: number; pinned?: (n: number) => boolean; sha?: string; bytes?: Uint8Array } = {},
) {
  const bytes = opts.bytes ?? iris.bytes;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { signature } = await inspectModel(bytes);
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'modelyard-pool-spec-'));
  const counts = { downloads: 0, loaded: [] as number[] };
  const hooks: VersionPoolHooks = {
    describe: async (model, n) => {
      if (n === 404) throw new AppError('NOT_FOUND', `Model ${model} has no version ${n}`);
      const uri = `file:///models/${model}/${n}.onnx`;
      return { versionId: `v${n}`, signature, uri, sha256: opts.sha ?? sha256, samples: opts.bytes ? null : rows };
    },
    download: async () => {
      counts.downloads++;
      return Buffer.from(bytes);
    },
    pinned: (_model, n) => opts.pinned?.(n) ?? false,
    loaded: (_model, n) => counts.loaded.push(n),
  };
  const options = {
    cacheDir,
    maxLoadedMb: opts.maxLoadedMb ?? 2048,
    intraOpThreads: 1,
    contained: { memoryMb: 512, runSeconds: 20 },
  };
  const p = new VersionPool(options, hooks, pino({ level: 'silent' }));
  const close = async () => {
    await p.close();
    rmSync(cacheDir, { recursive: true, force: true });
  };
  return { pool: p, counts, signature, close };
}

describe('VersionPool', () => {
  it('loads a version once however many callers ask at once, and serves it from memory after', async () => {
    const t = await pool();
    try {
      assert.equal(t.pool.get('iris', 1), undefined);
      const loads = await Promise.all([t.pool.load('iris', 1), t.pool.load('iris', 1), t.pool.load('iris', 1)]);
      assert.ok(loads.every((v) => v === loads[0]));
      assert.deepEqual(t.counts, { downloads: 1, loaded: [1] });
      assert.equal(t.pool.get('iris', 1), loads[0]);
      assert.deepEqual(loads[0]!.outputNames, ['label', 'probabilities']);
      assert.equal(loads[0]!.labelOutput, 'label');
    } finally {
      await t.close();
    }
  });

  it('answers the rows validation and drift profiling run exactly as the serving path answers them', async () => {
    const t = await pool();
    const session = await createSession(iris.bytes);
    try {
      const sv = await t.pool.load('iris', 1);
      const served = await runVersion(sv, feedsFromRecords(sv.signature, rows, { maxRows: 100 }));
      const sampled = await runSamples(session, t.signature, rows);
      assert.deepEqual(sampled, Object.fromEntries(Object.entries(served).map(([n, out]) => [n, tensorToJson(out)])));
      assert.deepEqual(sampled.label, iris.samples.expected.label!.slice(0, 5));
    } finally {
      await session.release();
      await t.close();
    }
  });

  it('passes on why a version cannot be served, and loads nothing for it', async () => {
    const t = await pool();
    try {
      await assert.rejects(t.pool.load('iris', 404), /has no version 404/);
      assert.equal(t.pool.size, 0);
    } finally {
      await t.close();
    }
  });

  it('refuses an artifact whose bytes do not match the stored checksum, and loads nothing', async () => {
    const t = await pool({ sha: '0'.repeat(64) });
    try {
      await assert.rejects(t.pool.load('iris', 1), (e: unknown) => e instanceof AppError && e.code === 'INTERNAL');
      assert.equal(t.pool.size, 0);
    } finally {
      await t.close();
    }
  });

  it('keeps within SERVING_MAX_LOADED_MB by unloading the least recently used version that is not pinned', async () => {
    // Room for two copies of iris_logreg; version 1 is pinned (production), 2 and 3 are not.
    const t = await pool({ maxLoadedMb: (2.5 * iris.bytes.length) / (1024 * 1024), pinned: (n) => n === 1 });
    try {
      await t.pool.load('iris', 1);
      await t.pool.load('iris', 2);
      await t.pool.load('iris', 3);
      assert.equal(t.pool.has('iris', 1), true, 'the pinned version stays');
      assert.equal(t.pool.has('iris', 2), false, 'the least recently used unpinned version goes');
      assert.equal(t.pool.has('iris', 3), true, 'the version just loaded stays');
    } finally {
      await t.close();
    }
  });

  it('serves iris in this process, and a model whose work the request sizes in a process of its own', async () => {
    const t = await pool();
    const loop = await pool({ bytes: hostile('loop-by-input') });
    try {
      assert.equal((await t.pool.load('iris', 1)).contained, null);
      const sv = await loop.pool.load('loop', 1);
      assert.match(sv.contained?.why ?? '', /^node "Loop_Y" \(Loop\) runs a subgraph/);
      assert.equal(sv.session, sv.contained);
      const out = await runVersion(sv, { X: new Tensor('int64', BigInt64Array.from([3n, 1n]), [2, 1]) });
      assert.deepEqual([...(out.Y!.data as Float32Array)], [6, 4]);
    } finally {
      await Promise.all([t.close(), loop.close()]);
    }
  });

  it(`reopens a version contained when its warm-up run takes longer than ${SLOW_RUN_MS} ms here`, async () => {
    const t = await pool({ bytes: slowModel(100) });
    try {
      const sv = await t.pool.load('slow', 1);
      assert.match(
        sv.contained?.why ?? '',
        new RegExp(`^its warm-up run took \\d+ ms in this process, over ${SLOW_RUN_MS} ms$`),
      );
      assert.ok(sv.session instanceof ContainedSession);
      assert.equal(sv.session, sv.contained);
      assert.deepEqual(t.counts, { downloads: 1, loaded: [1] });
    } finally {
      await t.close();
    }
  });
});

describe('timedRun', () => {
  it('counts the run alone, not work the event loop had queued ahead of it (versions loading at once)', async () => {
    const session = await createSession(iris.bytes);
    try {
      const feeds = { float_input: new Tensor('float32', new Float32Array(4), [1, 4]) };
      await session.run(feeds, ['label']);
      const queuedAhead = performance.now();
      setImmediate(() => {
        while (performance.now() - queuedAhead < 1500); // another version's load holding the loop
      });
      const { ms, failed } = await timedRun(session, feeds, ['label']);
      assert.equal(failed, undefined);
      assert.ok(performance.now() - queuedAhead >= 1500, 'the run waited behind the queued work');
      assert.ok(ms < 500, `counted ${ms} ms`);
    } finally {
      await session.release();
    }
  });
});

/**
 * A model bounded by its graph whose every run costs `matmuls` products of two 1024 x 1024 matrices (~2 GFLOP each)
 * whatever the request: W = ConstantOfShape([1024, 1024]) * sum(X), squared `matmuls` times, Y = X + sum(W).
 */
function slowModel(matmuls: number): Uint8Array {
  const node = (op_type: string, input: string[], output: string[], attribute: object[] = []) => ({
    op_type,
    input,
    output,
    attribute,
    name: output[0],
  });
  const keepdims = (k: number) => [{ name: 'keepdims', type: 2, i: k }];
  const chain = Array.from({ length: matmuls }, (_, i) => node('MatMul', [`W${i}`, 'W0'], [`W${i + 1}`]));
  const value = (name: string) => ({
    name,
    type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 1 }] } } },
  });
  return OnnxTypes.ModelProto.encode({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'slow',
      node: [
        node(
          'ConstantOfShape',
          ['shape'],
          ['ones'],
          [{ name: 'value', type: 4, t: { data_type: 1, dims: [1], float_data: [1] } }],
        ),
        node('ReduceSum', ['X'], ['s'], keepdims(0)),
        node('Mul', ['ones', 's'], ['W0']),
        ...chain,
        node('ReduceSum', [`W${matmuls}`], ['r'], keepdims(0)),
        node('Add', ['X', 'r'], ['Y']),
      ],
      initializer: [{ name: 'shape', data_type: 7, dims: [2], int64_data: [1024, 1024] }],
      input: [value('X')],
      output: [value('Y')],
    },
  }).finish();
}
