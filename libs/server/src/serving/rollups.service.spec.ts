import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { quantileMs, ROLLUP_BUCKETS_MS } from './rollups.service.js';

const hist = (counts: Record<number, number>) => {
  const b = new Array(ROLLUP_BUCKETS_MS.length + 1).fill(0);
  for (const [i, n] of Object.entries(counts)) b[Number(i)] = n;
  return b;
};

describe('quantileMs', () => {
  it('is null for an empty histogram', () => {
    assert.equal(quantileMs(hist({}), 0.5), null);
  });
  it('interpolates inside the bucket the rank falls in', () => {
    // 100 requests all in (1, 2] ms: p50 sits half way, p99 near the top.
    assert.equal(quantileMs(hist({ 2: 100 }), 0.5), 1.5);
    assert.equal(quantileMs(hist({ 2: 100 }), 0.99), 1.99);
  });
  it('puts the tail where the slow requests are', () => {
    const h = hist({ 1: 98, 10: 2 }); // 98 fast (0.5-1 ms), 2 slow (50-100 ms)
    assert.ok(quantileMs(h, 0.5)! <= 1);
    assert.ok(quantileMs(h, 0.99)! > 50);
  });
});
