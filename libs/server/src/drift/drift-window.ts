// Windows: prediction-log rows folded into counts over the reference bins. One pass, O(rows x columns), no row is
// kept except the bounded KS sample; two windows over the same profile add up (mergeWindows), so an hourly window
// can be rolled into a daily one without rereading the log.
import { mergeReservoirs, offerAll, type Reservoir, emptyReservoir } from './drift-sample.js';
import {
  numericColumn,
  rowsToBatch,
  toCategory,
  type ColumnProfile,
  type DriftBatch,
  type DriftRow,
  type ReferenceProfile,
} from './drift-profile.js';

export interface NumericWindowColumn {
  kind: 'numeric';
  name: string;
  /** Same length and bins as the profile's counts. */
  counts: number[];
  count: number;
  missing: number;
  /** Running mean and sum of squared deviations (Chan et al.'s mergeable form), null while count is 0. */
  mean: number | null;
  m2: number;
  min: number | null;
  max: number | null;
  sample: Reservoir;
}

export interface CategoricalWindowColumn {
  kind: 'categorical';
  name: string;
  /** One per profile category, then "other". */
  counts: number[];
  count: number;
  missing: number;
}

export type WindowColumn = NumericWindowColumn | CategoricalWindowColumn;

export interface DriftWindow {
  version: 1;
  rows: number;
  /** State of the sampling generator, so folding later batches stays deterministic after a JSON round trip. */
  rng: number;
  features: WindowColumn[];
  outputs: WindowColumn[];
}

function emptyColumn(p: ColumnProfile, sampleSize: number): WindowColumn {
  const counts = new Array<number>(p.counts.length).fill(0);
  return p.kind === 'numeric'
    ? {
        kind: 'numeric',
        name: p.name,
        counts,
        count: 0,
        missing: 0,
        mean: null,
        m2: 0,
        min: null,
        max: null,
        sample: emptyReservoir(sampleSize),
      }
    : { kind: 'categorical', name: p.name, counts, count: 0, missing: 0 };
}

/** An empty window over the profile's columns and bins. */
export function createWindow(profile: ReferenceProfile, options: { seed?: number } = {}): DriftWindow {
  return {
    version: 1,
    rows: 0,
    rng: (options.seed ?? 1) | 0,
    features: profile.features.map((p) => emptyColumn(p, profile.sampleSize)),
    outputs: profile.outputs.map((p) => emptyColumn(p, profile.sampleSize)),
  };
}

/** Combines (count, mean, m2) of two parts (Chan, Golub & LeVeque), which stays accurate where Σx² would not. */
function mergeMoments(a: { count: number; mean: number | null; m2: number }, n: number, mean: number, m2: number) {
  if (n === 0) return;
  if (a.count === 0 || a.mean === null) {
    a.count = n;
    a.mean = mean;
    a.m2 = m2;
    return;
  }
  const total = a.count + n;
  const delta = mean - a.mean;
  a.mean += (delta * n) / total;
  a.m2 += m2 + (delta * delta * a.count * n) / total;
  a.count = total;
}

// The non-missing values of the column being folded. Reused across columns and batches (one allocation per
// process, not one per column per batch); folding is synchronous, so no two folds ever share it at once.
let scratch = new Float64Array(0);

function foldNumeric(
  col: NumericWindowColumn,
  edgeList: number[],
  values: Float64Array,
  rows: number,
  state: { rng: number },
) {
  if (scratch.length < rows) scratch = new Float64Array(rows);
  const present = scratch;
  const edges = Float64Array.from(edgeList);
  const nEdges = edges.length;
  const counts = new Float64Array(nEdges + 1);
  let k = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < rows; i++) {
    const v = values[i]!;
    if (v - v !== 0) continue; // NaN and ±Infinity: missing
    present[k++] = v;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    let lo = 0;
    let hi = nEdges;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]!++;
  }
  col.missing += rows - k;
  if (k === 0) return;
  for (let b = 0; b <= nEdges; b++) col.counts[b]! += counts[b]!;
  const mean = sum / k;
  let m2 = 0;
  for (let i = 0; i < k; i++) m2 += (present[i]! - mean) ** 2;
  mergeMoments(col, k, mean, m2);
  col.min = col.min === null ? min : Math.min(col.min, min);
  col.max = col.max === null ? max : Math.max(col.max, max);
  offerAll(col.sample, present, k, state);
}

function foldCategorical(
  col: CategoricalWindowColumn,
  profile: ColumnProfile & { kind: 'categorical' },
  values: ArrayLike<unknown> | undefined,
  rows: number,
) {
  const index = new Map(profile.categories.map((c, i) => [c, i]));
  const other = profile.categories.length;
  let missing = 0;
  for (let i = 0; i < rows; i++) {
    const c = values ? toCategory(values[i]) : null;
    if (c === null) missing++;
    else col.counts[index.get(c) ?? other]!++;
  }
  col.count += rows - missing;
  col.missing += missing;
}

function foldSide(
  columns: WindowColumn[],
  profiles: ColumnProfile[],
  values: Record<string, ArrayLike<unknown>>,
  rows: number,
  state: { rng: number },
) {
  profiles.forEach((p, i) => {
    const col = columns[i]!;
    if (p.kind === 'numeric' && col.kind === 'numeric')
      foldNumeric(col, p.edges, numericColumn(values[p.name], rows), rows, state);
    else if (p.kind === 'categorical' && col.kind === 'categorical') foldCategorical(col, p, values[p.name], rows);
    else throw new Error(`drift window column ${p.name} is ${col.kind}, its profile ${p.kind}`);
  });
}

/** Adds a batch to the window in place. The window must come from createWindow(profile) (same columns, same bins). */
export function foldBatch(window: DriftWindow, profile: ReferenceProfile, batch: DriftBatch): DriftWindow {
  foldSide(window.features, profile.features, batch.features, batch.rows, window);
  foldSide(window.outputs, profile.outputs, batch.outputs, batch.rows, window);
  window.rows += batch.rows;
  return window;
}

/** Adds prediction-log rows to the window in place (rowsToBatch, then foldBatch). */
export function foldRows(window: DriftWindow, profile: ReferenceProfile, rows: readonly DriftRow[]): DriftWindow {
  return foldBatch(window, profile, rowsToBatch(profile, rows));
}

function mergeColumn(a: WindowColumn, b: WindowColumn, state: { rng: number }): WindowColumn {
  if (a.name !== b.name || a.kind !== b.kind || a.counts.length !== b.counts.length) {
    throw new Error(`cannot merge drift windows: column ${a.name} (${a.kind}) vs ${b.name} (${b.kind}) differ`);
  }
  const counts = a.counts.map((c, i) => c + b.counts[i]!);
  if (a.kind === 'categorical' || b.kind === 'categorical') {
    return { kind: 'categorical', name: a.name, counts, count: a.count + b.count, missing: a.missing + b.missing };
  }
  const merged: NumericWindowColumn = {
    ...a,
    counts,
    missing: a.missing + b.missing,
    sample: mergeReservoirs(a.sample, b.sample, state),
  };
  if (b.mean !== null) mergeMoments(merged, b.count, b.mean, b.m2);
  merged.min = a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min);
  merged.max = a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max);
  return merged;
}

/**
 * The window of both windows' rows: counts add, moments combine, samples merge into a uniform sample of the
 * union. Sampling continues from `a`'s generator state. Neither input is modified.
 */
export function mergeWindows(a: DriftWindow, b: DriftWindow): DriftWindow {
  if (a.features.length !== b.features.length || a.outputs.length !== b.outputs.length) {
    throw new Error('cannot merge drift windows over different profiles');
  }
  const state = { rng: a.rng };
  const features = a.features.map((c, i) => mergeColumn(c, b.features[i]!, state));
  const outputs = a.outputs.map((c, i) => mergeColumn(c, b.outputs[i]!, state));
  return { version: 1, rows: a.rows + b.rows, rng: state.rng, features, outputs };
}
