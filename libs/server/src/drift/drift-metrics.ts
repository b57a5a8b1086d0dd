// Drift metrics and statuses: a window compared with its reference profile, column by column.
import { chi2Contingency, ks2Samp } from './drift-stats.js';
import type { ColumnProfile, ReferenceProfile } from './drift-profile.js';
import type { DriftWindow, WindowColumn } from './drift-window.js';

/**
 * Proportions below this count as this in PSI. Without it one empty bin makes PSI infinite; with it, a bin
 * holding share m on one side and nothing on the other adds (m - 1e-4) ln(m / 1e-4), at most about 9.2 m. The
 * proportions are not renormalised after clamping (as Evidently and most PSI write-ups do).
 */
export const PSI_EPSILON = 1e-4;

function proportions(counts: ArrayLike<number>): number[] | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (!(total > 0)) return null;
  return Array.from(counts, (c) => c / total);
}

/**
 * Population stability index of two histograms over the same bins: Σ (q_i - p_i) ln(q_i / p_i), p the reference
 * and q the current proportions, each clamped below at PSI_EPSILON. null when either side is empty.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>): number | null {
  const p = proportions(reference);
  const q = proportions(current);
  if (!p || !q) return null;
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = Math.max(p[i]!, PSI_EPSILON);
    const b = Math.max(q[i]!, PSI_EPSILON);
    s += (b - a) * Math.log(b / a);
  }
  return s;
}

/**
 * Jensen-Shannon distance (the square root of the divergence) in base 2, so in [0, 1]: 0 for identical
 * histograms, 1 for disjoint ones. As scipy.spatial.distance.jensenshannon(p, q, base=2). null when a side is empty.
 */
export function jensenShannon(reference: ArrayLike<number>, current: ArrayLike<number>): number | null {
  const p = proportions(reference);
  const q = proportions(current);
  if (!p || !q) return null;
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i]! + q[i]!) / 2;
    if (p[i]! > 0) s += p[i]! * Math.log(p[i]! / m);
    if (q[i]! > 0) s += q[i]! * Math.log(q[i]! / m);
  }
  return Math.sqrt(Math.max(0, s / 2) / Math.LN2);
}

export type DriftStatus = 'ok' | 'warn' | 'drift';

export interface DriftThresholds {
  psi: { warn: number; drift: number };
  /** Jensen-Shannon distance (base 2). */
  js: number;
  /** Significance level of the KS / chi-squared test. */
  pValue: number;
  /** Share of drifting features at which the whole dataset counts as drifting. */
  driftShare: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = {
  psi: { warn: 0.1, drift: 0.25 },
  js: 0.1,
  pValue: 0.05,
  driftShare: 0.5,
};

/**
 * The status rule. The test's p-value answers "is there evidence of any change?", PSI and JS answer "is the
 * change big enough to matter?"; a column needs both:
 *
 * - `drift`: p < pValue, PSI >= psi.drift and JS >= js;
 * - `warn`:  p < pValue and (PSI >= psi.warn or JS >= js), when not drift;
 * - `ok`:    otherwise, including when the window has no value for the column.
 *
 * When the test cannot run because one side has no non-missing value (a numeric feature that arrives all
 * missing), there is no p-value and PSI/JS decide alone: that jump in the missing bin is drift, not "no data".
 *
 * Why: with a large window every trivial shift is significant, so p alone would flag everything; with a small
 * window PSI and JS are noisy, so they alone would flag noise. Requiring JS as well as PSI for `drift` guards
 * against PSI's epsilon blow-up: a handful of values in a bin empty in the reference can push PSI past 0.25 while
 * the bounded JS stays small. For a smooth shift JS 0.1 corresponds to PSI of about 0.06, so a real PSI >= 0.25
 * shift passes the JS bar too.
 */
export function driftStatus(
  m: { psi: number | null; js: number | null; pValue: number | null },
  t: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DriftStatus {
  if (m.psi === null || m.js === null) return 'ok';
  if (m.pValue !== null && !(m.pValue < t.pValue)) return 'ok';
  if (m.psi >= t.psi.drift && m.js >= t.js) return 'drift';
  if (m.psi >= t.psi.warn || m.js >= t.js) return 'warn';
  return 'ok';
}

export interface ColumnStats {
  count: number;
  missingRate: number;
  /** Numeric columns only. */
  mean?: number | null;
  std?: number | null;
  min?: number | null;
  max?: number | null;
}

export interface ColumnDrift {
  name: string;
  kind: 'numeric' | 'categorical';
  status: DriftStatus;
  /** Over the bins (numeric) or categories + "other" (categorical), with missing values as one more bin. */
  psi: number | null;
  js: number | null;
  /** KS on the bounded samples for numeric columns, chi-squared on the counts for categorical ones. */
  test: 'ks' | 'chi2';
  statistic: number | null;
  pValue: number | null;
  reference: ColumnStats;
  current: ColumnStats;
}

export interface DriftReport {
  rows: number;
  /** `drift` when driftShare >= thresholds.driftShare, `warn` when any feature warns or drifts, else `ok`. */
  status: DriftStatus;
  /** Drifting features / features the window has values for (0 when none); outputs are reported, not counted. */
  driftShare: number;
  driftedFeatures: number;
  evaluatedFeatures: number;
  features: ColumnDrift[];
  outputs: ColumnDrift[];
  thresholds: DriftThresholds;
}

const withMissing = (counts: ArrayLike<number>, missing: number) => [...Array.from(counts), missing];

function currentStats(c: WindowColumn): ColumnStats {
  const total = c.count + c.missing;
  const base = { count: c.count, missingRate: total ? c.missing / total : 0 };
  if (c.kind === 'categorical') return base;
  return { ...base, mean: c.mean, std: c.mean === null ? null : Math.sqrt(c.m2 / c.count), min: c.min, max: c.max };
}

function referenceStats(p: ColumnProfile): ColumnStats {
  const base = { count: p.count, missingRate: p.missingRate };
  return p.kind === 'categorical' ? base : { ...base, mean: p.mean, std: p.std, min: p.min, max: p.max };
}

/** One column of a window against its profile. */
export function compareColumn(
  profile: ColumnProfile,
  current: WindowColumn,
  thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): ColumnDrift {
  const ref = withMissing(profile.counts, profile.missing);
  const cur = withMissing(current.counts, current.missing);
  const hasData = current.count + current.missing > 0;
  const metrics = { psi: hasData ? psi(ref, cur) : null, js: hasData ? jensenShannon(ref, cur) : null };
  let test: { statistic: number; pValue: number } | null = null;
  if (profile.kind === 'numeric' && current.kind === 'numeric') {
    if (profile.sample.length && current.sample.values.length) {
      test = ks2Samp(profile.sample, Float64Array.from(current.sample.values).sort());
    }
  } else if (hasData) {
    // Missing is a category of its own here too, so a jump in missing labels is tested, not just counted.
    test = chi2Contingency(ref, cur);
  }
  const pValue = test?.pValue ?? null;
  return {
    name: profile.name,
    kind: profile.kind,
    status: driftStatus({ ...metrics, pValue }, thresholds),
    ...metrics,
    test: profile.kind === 'numeric' ? 'ks' : 'chi2',
    statistic: test?.statistic ?? null,
    pValue,
    reference: referenceStats(profile),
    current: currentStats(current),
  };
}

/** The drift report of a window: every feature and output compared, plus the dataset-level share and status. */
export function driftReport(
  profile: ReferenceProfile,
  window: DriftWindow,
  thresholds: Partial<DriftThresholds> = {},
): DriftReport {
  const t = { ...DEFAULT_DRIFT_THRESHOLDS, ...thresholds };
  const features = profile.features.map((p, i) => compareColumn(p, window.features[i]!, t));
  const outputs = profile.outputs.map((p, i) => compareColumn(p, window.outputs[i]!, t));
  const evaluated = features.filter((f) => f.psi !== null);
  const drifted = evaluated.filter((f) => f.status === 'drift').length;
  const driftShare = evaluated.length ? drifted / evaluated.length : 0;
  const status: DriftStatus =
    evaluated.length && driftShare >= t.driftShare ? 'drift' : features.some((f) => f.status !== 'ok') ? 'warn' : 'ok';
  return {
    rows: window.rows,
    status,
    driftShare,
    driftedFeatures: drifted,
    evaluatedFeatures: evaluated.length,
    features,
    outputs,
    thresholds: t,
  };
}
