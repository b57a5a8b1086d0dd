import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MicroBatcher } from './micro-batcher.js';
import { Tensor, type Feeds } from './ort.js';
import type { ServedVersion } from './version-pool.js';

/** A version whose signature leaves the batch dimension open (-1), as converters write it. */
function version(batch = -1): ServedVersion {
  const signature = {
    inputs: [{ name: 'x', dtype: 'float32', shape: [batch, 2] }],
    outputs: [
      { name: 'y', dtype: 'float32', shape: [batch, 2] },
      { name: 'label', dtype: 'int64', shape: [batch] },
    ],
  };
  return { model: 'm', version: 1, outputNames: ['y', 'label'], signature } as unknown as ServedVersion;
}
const sv = version();
const feedsOf = (rows: number[][]) => ({
  x: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]),
});

/** A fake session: y = 2 * x per value, label = row sum; records how many runs it did and their sizes. */
function fakeRun() {
  const runs: number[] = [];
  const run = async (_sv: ServedVersion, feeds: Feeds) => {
    const x = feeds.x!;
    const n = x.dims[0]!;
    runs.push(n);
    const data = x.data as Float32Array;
    const w = x.dims[1]!;
    const sums = Array.from({ length: n }, (_, r) => data.slice(r * w, (r + 1) * w).reduce((a, b) => a + b, 0));
    return {
      y: new Tensor(
        'float32',
        data.map((v) => v * 2),
        [n, w],
      ),
      label: new Tensor('int64', BigInt64Array.from(sums.map((s) => BigInt(Math.round(s)))), [n]),
    };
  };
  return { runs, run };
}

describe(MicroBatcher.name, () => {
  it('merges concurrent requests into one run and gives each caller its own rows', async () => {
    const f = fakeRun();
    const sut = new MicroBatcher(f.run);
    const cfg = { maxBatchRows: 64, maxWaitUs: 2000 };
    const results = await Promise.all(
      [
        [[1, 2]],
        [
          [3, 4],
          [5, 6],
        ],
        [[7, 8]],
      ].map((rows) => sut.submit(sv, feedsOf(rows), cfg)),
    );
    assert.deepEqual(f.runs, [4]);
    assert.deepEqual(Array.from(results[1]!.y!.data as Float32Array), [6, 8, 10, 12]);
    assert.deepEqual(results[1]!.y!.dims, [2, 2]);
    assert.deepEqual(Array.from(results[2]!.label!.data as BigInt64Array), [15n]);
    assert.deepEqual(Array.from(results[0]!.label!.data as BigInt64Array), [3n]);
  });

  it('flushes as soon as the batch is full and runs big requests alone', async () => {
    const f = fakeRun();
    const sut = new MicroBatcher(f.run);
    const cfg = { maxBatchRows: 2, maxWaitUs: 100_000 };
    const started = Date.now();
    await Promise.all([sut.submit(sv, feedsOf([[1, 1]]), cfg), sut.submit(sv, feedsOf([[2, 2]]), cfg)]);
    assert.ok(Date.now() - started < 50, 'a full batch does not wait for the timer');
    await sut.submit(
      sv,
      feedsOf([
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
      cfg,
    );
    assert.deepEqual(f.runs, [2, 3]);
  });

  it('keeps requests of different shapes apart', async () => {
    const f = fakeRun();
    const sut = new MicroBatcher(f.run);
    const cfg = { maxBatchRows: 64, maxWaitUs: 500 };
    await Promise.all([sut.submit(sv, feedsOf([[1, 2]]), cfg), sut.submit(sv, feedsOf([[1, 2, 3]]), cfg)]);
    assert.deepEqual(f.runs.sort(), [1, 1]);
  });

  it('with no wait (maxWaitUs 0), merges the requests of one event-loop turn and counts the merged run', async () => {
    const f = fakeRun();
    const merged: number[] = [];
    const sut = new MicroBatcher(f.run, (n) => merged.push(n));
    const cfg = { maxBatchRows: 256, maxWaitUs: 0 };
    const turn = [sut.submit(sv, feedsOf([[1, 1]]), cfg), sut.submit(sv, feedsOf([[2, 2]]), cfg)];
    turn.push(sut.submit(sv, feedsOf([[3, 3]]), cfg));
    await Promise.all(turn);
    // A request of a later turn is not kept waiting for company: it runs on its own.
    const [alone] = await Promise.all([sut.submit(sv, feedsOf([[4, 4]]), cfg)]);
    assert.deepEqual(f.runs, [3, 1]);
    assert.deepEqual(merged, [3], 'one merged run, of three requests; a run of one is not counted');
    assert.deepEqual(Array.from(alone!.y!.data as Float32Array), [8, 8]);
  });

  it('runs each request alone for a version whose signature fixes the batch dimension', async () => {
    const f = fakeRun();
    const sut = new MicroBatcher(f.run);
    const one = version(1);
    const cfg = { maxBatchRows: 256, maxWaitUs: 0 };
    await Promise.all([sut.submit(one, feedsOf([[1, 2]]), cfg), sut.submit(one, feedsOf([[3, 4]]), cfg)]);
    assert.deepEqual(f.runs, [1, 1]);
  });

  it('answers each request alone when the merged run fails, so only the bad one sees an error', async () => {
    const sut = new MicroBatcher(async (_sv, feeds) => {
      const data = feeds.x!.data as Float32Array;
      if (data.some((v) => v < 0)) throw new Error('negative input');
      return { y: feeds.x!, label: new Tensor('int64', new BigInt64Array(feeds.x!.dims[0]!), [feeds.x!.dims[0]!]) };
    });
    const cfg = { maxBatchRows: 64, maxWaitUs: 500 };
    const [good, bad] = await Promise.allSettled([
      sut.submit(sv, feedsOf([[1, 2]]), cfg),
      sut.submit(sv, feedsOf([[-1, 2]]), cfg),
    ]);
    assert.equal(good.status, 'fulfilled');
    assert.equal(bad.status, 'rejected');
  });
});
