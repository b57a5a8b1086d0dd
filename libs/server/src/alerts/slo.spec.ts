import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROLLUP_BUCKETS_MS } from '../serving/rollups.service.js';
import { sloReport, slowerThan } from './slo.js';

/** A histogram with `n` requests in the bucket whose upper bound is `upperMs` (Infinity for the last). */
function hist(entries: [upperMs: number, n: number][]) {
  const b = new Array(ROLLUP_BUCKETS_MS.length + 1).fill(0);
  for (const [upper, n] of entries)
    b[upper === Infinity ? ROLLUP_BUCKETS_MS.length : ROLLUP_BUCKETS_MS.indexOf(upper)] += n;
  return b;
}

describe('SLO and error budget from rollups', () => {
  it('counts whole buckets above the SLO and the part of the bucket that holds it', () => {
    // 250-500 ms bucket holds 300 ms: (500 - 300) / 250 of its 10 requests are slower.
    assert.equal(
      slowerThan(
        hist([
          [1, 1000],
          [500, 10],
          [1000, 5],
          [Infinity, 1],
        ]),
        300,
      ),
      8 + 5 + 1,
    );
    assert.equal(slowerThan(hist([[1, 1000]]), 300), 0);
  });

  it('spends the budget of a 99 % objective: failures and slow requests are bad, each counted once', () => {
    const r = sloReport(
      [
        {
          count: 990,
          errors: 2,
          buckets: hist([
            [1, 985],
            [1000, 5],
          ]),
        },
        { count: 10, errors: 1, buckets: hist([[1, 10]]) },
      ],
      300,
      0.99,
    );
    assert.deepEqual([r.requests, r.errors, r.slowRequests], [1000, 3, 5]);
    assert.ok(Math.abs(r.budget.allowedBad - 10) < 1e-9);
    assert.ok(Math.abs(r.budget.consumed! - 0.8) < 1e-9);
    assert.ok(Math.abs(r.budget.remaining! - 0.2) < 1e-9);
    assert.ok(Math.abs(r.goodRatio! - 0.992) < 1e-9);
  });

  it('says nothing about a budget without traffic', () => {
    const r = sloReport([], 300, 0.99);
    assert.deepEqual([r.requests, r.goodRatio, r.budget.consumed, r.p99Ms], [0, null, null, null]);
  });
});
