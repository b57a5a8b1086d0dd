import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chi2Contingency, chi2Sf, gammaincc, kolmogorovSf, ks2Samp } from './drift-stats.js';
import { assertClose, expected } from './drift-test-support.js';

const ascending = (xs: number[]) => Float64Array.from(xs).sort();

describe('gammaincc', () => {
  it('matches scipy.special.gammaincc', () => {
    for (const { a, x, q } of expected.gammaincc) assertClose(gammaincc(a, x), q, `Q(${a}, ${x})`, 1e-12, 1e-300);
  });
});

describe('chi2Sf', () => {
  it('matches scipy.stats.chi2.sf', () => {
    for (const { x, dof, sf } of expected.chi2sf)
      assertClose(chi2Sf(x, dof), sf, `chi2.sf(${x}, ${dof})`, 1e-12, 1e-300);
  });
});

describe('kolmogorovSf', () => {
  it('matches scipy.stats.kstwo.sf on every branch (Ruben-Gambino, Durbin, Pomeranz, Pelz-Good, Smirnov)', () => {
    for (const { n, d, sf } of expected.kstwo)
      assertClose(kolmogorovSf(n, d), sf, `kstwo.sf(${d}, ${n})`, 1e-9, 1e-290);
  });
});

describe('ks2Samp', () => {
  it('matches scipy.stats.ks_2samp(method="asymp"), ties and unequal sizes included', () => {
    for (const { a, b, statistic, pValue } of expected.ks2samp) {
      const r = ks2Samp(ascending(a), ascending(b));
      assertClose(r.statistic, statistic, `D for ${a.length} vs ${b.length}`, 1e-12, 0);
      assertClose(r.pValue, pValue, `p for ${a.length} vs ${b.length}`, 1e-9, 1e-290);
    }
  });

  it('gives D = 0 and p = 1 for identical samples', () => {
    const xs = ascending([3, 1, 2, 2, 5, 8]);
    assert.deepEqual(ks2Samp(xs, xs), { statistic: 0, pValue: 1 });
  });
});

describe('chi2Contingency', () => {
  it('matches scipy.stats.chi2_contingency on the 2 x k table, with Yates at one degree of freedom', () => {
    for (const c of expected.categorical) {
      const r = chi2Contingency(c.referenceCounts, c.currentCounts);
      assert.equal(r.dof, c.chi2.dof, c.name);
      assertClose(r.statistic, c.chi2.statistic, `${c.name} statistic`, 1e-12, 1e-12);
      assertClose(r.pValue, c.chi2.pValue, `${c.name} p`, 1e-10, 1e-300);
    }
  });

  it('is degenerate (0, p = 1) with one non-empty category or an empty side', () => {
    assert.deepEqual(chi2Contingency([5, 0], [7, 0]), { statistic: 0, pValue: 1, dof: 0 });
    assert.deepEqual(chi2Contingency([5, 3], [0, 0]), { statistic: 0, pValue: 1, dof: 1 });
  });
});
