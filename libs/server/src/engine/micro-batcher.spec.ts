import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MicroBatcher } from './micro-batcher.js';
import { Tensor, type Feeds } from './ort.js';
import type { ServedVersion } from './version-pool.js';

const sv = { model: 'm', version: 1, outputNames: ['y', 'label'] } as unknown as ServedVersion;
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
