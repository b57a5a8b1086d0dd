import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapDifference, normalCdf, normalQuantile, twoProportionTest, verdictOf } from './pilot-stats.js';

const close = (a: number | null | undefined, b: number, tol: number) =>
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) <= tol, `${a} is not ${b} (within ${tol})`);

describe('normal distribution', () => {
  it('matches the standard normal table (scipy.stats.norm)', () => {
    close(normalCdf(0), 0.5, 1e-7);
    close(normalCdf(1), 0.8413447460685429, 1e-7);
    close(normalCdf(-2.5), 0.006209665325776132, 1e-7);
    close(normalQuantile(0.975), 1.959963984540054, 1e-8);
    close(normalQuantile(0.01), -2.3263478740408408, 1e-8);
    close(normalQuantile(0.8), 0.8416212335729143, 1e-8);
  });
});

describe('twoProportionTest', () => {
  it('90/100 against 75/100: z 2.79, p 0.0052, 95% CI [0.047, 0.253], 97 per side needed', () => {
    const t = twoProportionTest(90, 100, 75, 100, 0.95);
    // pooled p = 0.825, SE = sqrt(.825 * .175 * (2/100)) = 0.053735; z = 0.15 / SE = 2.79145
    close(t.difference, 0.15, 1e-12);
    close(t.pValue, 0.005247203739115636, 1e-6);
    // Wald: SE = sqrt(.9 * .1 / 100 + .75 * .25 / 100) = 0.052678
    close(t.ciLow, 0.04675249045412189, 1e-8);
    close(t.ciHigh, 0.25324750954587816, 1e-8);
    // (1.96 + 0.8416)^2 * (.09 + .1875) / .15^2 = 96.8 -> 97, less the 100 each side has
    assert.equal(t.moreNeeded, 0);
    assert.equal(twoProportionTest(18, 20, 15, 20).moreNeeded, 97 - 20);
  });

  it('equal rates: difference 0, p-value 1, no sample size can decide it', () => {
    const t = twoProportionTest(40, 50, 40, 50);
    assert.equal(t.difference, 0);
    close(t.pValue, 1, 1e-7);
    assert.equal(t.moreNeeded, null);
  });
});

describe('bootstrapDifference', () => {
  const mean = (rows: readonly number[]) => (rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : null);

  it('gives the observed difference, an interval around it and the same answer for the same seed', () => {
    const a = Array.from({ length: 200 }, (_, i) => (i % 10) + 1); // mean 5.5
    const b = Array.from({ length: 200 }, (_, i) => i % 10); // mean 4.5
    const r = bootstrapDifference(a, b, mean, { iterations: 500, seed: 7 })!;
    close(r.difference, 1, 1e-12);
    // Each mean's standard error is sqrt(8.25 / 200) = 0.203, the difference's 0.287: the 95 % interval is about
    // 1 +- 0.56.
    assert.ok(r.ciLow > 0.3 && r.ciLow < 0.6, `low ${r.ciLow}`);
    assert.ok(r.ciHigh > 1.4 && r.ciHigh < 1.7, `high ${r.ciHigh}`);
    assert.ok(r.pValue <= 0.01, `p ${r.pValue}`);
    assert.deepEqual(bootstrapDifference(a, b, mean, { iterations: 500, seed: 7 }), r);
  });

  it('finds no difference between two copies of one sample', () => {
    const a = Array.from({ length: 100 }, (_, i) => i % 7);
    const r = bootstrapDifference(a, [...a], mean, { iterations: 300 })!;
    assert.equal(r.difference, 0);
    assert.ok(r.ciLow < 0 && r.ciHigh > 0);
    assert.ok(r.pValue > 0.5, `p ${r.pValue}`);
  });
});

describe('verdictOf', () => {
  const c = (ciLow: number, ciHigh: number) => ({
    difference: (ciLow + ciHigh) / 2,
    ciLow,
    ciHigh,
    pValue: 0.01,
    method: 'bootstrap' as const,
    moreNeeded: 0,
  });
  it('is better or worse only when the interval excludes zero, sides swapped where lower is better', () => {
    assert.equal(verdictOf(c(0.1, 0.2), false, true), 'better');
    assert.equal(verdictOf(c(-0.2, -0.1), false, true), 'worse');
    assert.equal(verdictOf(c(-0.1, 0.2), false, true), 'undecided');
    assert.equal(verdictOf(c(-0.2, -0.1), true, true), 'better');
    assert.equal(verdictOf(c(0.1, 0.2), true, true), 'worse');
    assert.equal(verdictOf(c(0.1, 0.2), false, false), 'undecided', 'too few labels');
  });
});
