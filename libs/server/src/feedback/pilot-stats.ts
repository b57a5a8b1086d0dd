/**
 * The statistics a pilot is judged by (issue 18): a two-proportion z test for accuracy and error rate, a
 * percentile bootstrap for every other metric, and the verdict with the sample size still needed. Pure and
 * seeded, so the same rows always give the same answer (and tests can check it by hand).
 */

/** Standard normal CDF, via erfc (W. J. Cody's rational approximations through Numerical Recipes' erfc, |err| < 1.2e-7). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Inverse standard normal CDF (Acklam's algorithm, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError('p must be in (0, 1)');
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

export interface Comparison {
  /** candidate - baseline */
  difference: number;
  ciLow: number;
  ciHigh: number;
  pValue: number;
  method: 'two-proportion z test' | 'bootstrap';
  /** Labelled rows each side would need for the observed difference to be decided (power 80 %), beyond those it has. */
  moreNeeded: number | null;
}

/**
 * Two-proportion z test of successes x1/n1 (candidate) against x2/n2 (baseline): pooled standard error for the
 * p-value, unpooled (Wald) for the confidence interval of p1 - p2. `moreNeeded` is the classic per-group sample
 * size for detecting the observed difference at this confidence with 80 % power, less the smaller group's size.
 */
export function twoProportionTest(x1: number, n1: number, x2: number, n2: number, confidence = 0.95): Comparison {
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const d = p1 - p2;
  const pooled = (x1 + x2) / (n1 + n2);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const z = sePooled > 0 ? d / sePooled : d === 0 ? 0 : Math.sign(d) * Infinity;
  const pValue = Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
  const zc = normalQuantile(1 - (1 - confidence) / 2);
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const zBeta = normalQuantile(0.8);
  const needed = d === 0 ? null : Math.ceil(((zc + zBeta) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2))) / (d * d));
  return {
    difference: d,
    ciLow: d - zc * se,
    ciHigh: d + zc * se,
    pValue,
    method: 'two-proportion z test',
    moreNeeded: needed === null ? null : Math.max(0, needed - Math.min(n1, n2)),
  };
}

/** mulberry32: a small seeded PRNG, so a bootstrap over the same rows gives the same interval every time. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Percentile bootstrap of metric(candidate) - metric(baseline): each side resampled with replacement,
 * `iterations` times. The p-value is twice the smaller share of resampled differences on either side of zero
 * (the percentile-interval test), at least 1 / iterations. A resample whose metric is undefined is skipped.
 */
export function bootstrapDifference<T>(
  candidate: readonly T[],
  baseline: readonly T[],
  metric: (rows: readonly T[]) => number | null,
  opts: { iterations?: number; confidence?: number; seed?: number } = {},
): Comparison | null {
  const iterations = opts.iterations ?? 1000;
  const confidence = opts.confidence ?? 0.95;
  const a = metric(candidate);
  const b = metric(baseline);
  if (a === null || b === null) return null;
  const rnd = seededRandom(opts.seed ?? 1);
  const resample = (rows: readonly T[]) =>
    Array.from({ length: rows.length }, () => rows[Math.floor(rnd() * rows.length)]!);
  const diffs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const x = metric(resample(candidate));
    const y = metric(resample(baseline));
    if (x !== null && y !== null) diffs.push(x - y);
  }
  if (!diffs.length) return null;
  diffs.sort((p, q) => p - q);
  const at = (q: number) => diffs[Math.min(diffs.length - 1, Math.max(0, Math.floor(q * diffs.length)))]!;
  const alpha = 1 - confidence;
  const below = diffs.filter((x) => x <= 0).length / diffs.length;
  const above = diffs.filter((x) => x >= 0).length / diffs.length;
  const d = a - b;
  // Standard error from the resamples, then the n at which d would sit zc + z(0.8) standard errors from zero.
  const mean = diffs.reduce((s, x) => s + x, 0) / diffs.length;
  const se = Math.sqrt(diffs.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, diffs.length - 1));
  const zc = normalQuantile(1 - alpha / 2);
  const n = Math.min(candidate.length, baseline.length);
  const needed = d === 0 ? null : se === 0 ? n : Math.ceil((n * ((zc + normalQuantile(0.8)) * se) ** 2) / (d * d));
  return {
    difference: d,
    ciLow: at(alpha / 2),
    ciHigh: at(1 - alpha / 2),
    pValue: Math.max(1 / diffs.length, Math.min(1, 2 * Math.min(below, above))),
    method: 'bootstrap',
    moreNeeded: needed === null ? null : Math.max(0, needed - n),
  };
}

export type Verdict = 'better' | 'worse' | 'undecided';

/**
 * better: the whole interval is on the good side of zero (and enough labels on each side); worse: on the bad side;
 * otherwise undecided. For metrics where lower is better the sides swap.
 */
export function verdictOf(c: Comparison | null, lowerIsBetter: boolean, enough: boolean): Verdict {
  if (!c || !enough) return 'undecided';
  const good = lowerIsBetter ? c.ciHigh < 0 : c.ciLow > 0;
  const bad = lowerIsBetter ? c.ciLow > 0 : c.ciHigh < 0;
  return good ? 'better' : bad ? 'worse' : 'undecided';
}
