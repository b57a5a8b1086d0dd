/**
 * Model quality from labelled predictions (issue 18): pure functions over plain arrays, no I/O, so the figures
 * can be checked by hand. Classifier metrics follow scikit-learn's definitions (macro averages, one-vs-rest AUC
 * averaged over the classes present in the labels, log loss with probabilities clipped at 1e-15).
 */

/** One labelled row of a classifier: what it predicted (and its probabilities, in `classes` order) and the truth. */
export interface ClassifiedRow {
  predicted: string;
  actual: string;
  /** Probability per class, in the order of `classes`; absent when the model gives none. */
  proba?: number[];
}

/** One labelled row of a regressor. */
export interface RegressedRow {
  predicted: number;
  actual: number;
}

export interface ClassifierMetrics {
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  auc: number | null;
  logLoss: number | null;
}

export interface RegressorMetrics {
  mae: number | null;
  rmse: number | null;
  r2: number | null;
}

export const CLASSIFIER_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'auc', 'logLoss'] as const;
export const REGRESSOR_METRICS = ['mae', 'rmse', 'r2'] as const;
export type MetricName = (typeof CLASSIFIER_METRICS)[number] | (typeof REGRESSOR_METRICS)[number] | 'errorRate';

/** Metrics where smaller is better (a pilot is better when its value is lower). */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['logLoss', 'mae', 'rmse', 'errorRate']);

const EPS = 1e-15;

export function classifierMetrics(rows: readonly ClassifiedRow[], classes: readonly string[]): ClassifierMetrics {
  const n = rows.length;
  if (!n) return { accuracy: null, precision: null, recall: null, f1: null, auc: null, logLoss: null };
  let correct = 0;
  for (const r of rows) if (r.predicted === r.actual) correct++;
  // Macro averages over every label seen in the truth or the predictions (scikit-learn's `labels=None`): a class
  // never predicted has precision 0 (its zero_division default), one never true has recall 0.
  const labels = [...new Set(rows.flatMap((r) => [r.actual, r.predicted]))].sort();
  let p = 0;
  let rc = 0;
  let f = 0;
  for (const c of labels) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const r of rows) {
      if (r.predicted === c && r.actual === c) tp++;
      else if (r.predicted === c) fp++;
      else if (r.actual === c) fn++;
    }
    const prec = tp + fp ? tp / (tp + fp) : 0;
    const rec = tp + fn ? tp / (tp + fn) : 0;
    p += prec;
    rc += rec;
    f += prec + rec ? (2 * prec * rec) / (prec + rec) : 0;
  }
  const withProba = rows.every((r) => r.proba && r.proba.length === classes.length) && classes.length > 1;
  return {
    accuracy: correct / n,
    precision: p / labels.length,
    recall: rc / labels.length,
    f1: f / labels.length,
    auc: withProba ? ovrAuc(rows, classes) : null,
    logLoss: withProba ? logLoss(rows, classes) : null,
  };
}

/** Mean negative log likelihood of the true class; a label outside `classes` counts as probability 0 (clipped). */
export function logLoss(rows: readonly ClassifiedRow[], classes: readonly string[]): number | null {
  if (!rows.length) return null;
  let sum = 0;
  for (const r of rows) {
    const i = classes.indexOf(r.actual);
    const p = i === -1 ? 0 : r.proba![i]!;
    sum -= Math.log(Math.min(1 - EPS, Math.max(EPS, p)));
  }
  return sum / rows.length;
}

/**
 * ROC AUC: binary (two classes) on the second class's probability, as scikit-learn does; multi-class one-vs-rest,
 * the unweighted mean over the classes that have both positives and negatives in the truth. Null when no class has.
 */
export function ovrAuc(rows: readonly ClassifiedRow[], classes: readonly string[]): number | null {
  const targets = classes.length === 2 ? [1] : classes.map((_, i) => i);
  const aucs: number[] = [];
  for (const i of targets) {
    const a = binaryAuc(
      rows.map((r) => r.proba![i]!),
      rows.map((r) => r.actual === classes[i]),
    );
    if (a !== null) aucs.push(a);
  }
  return aucs.length ? aucs.reduce((s, x) => s + x, 0) / aucs.length : null;
}

/** Mann-Whitney U over the scores, ties counted half: the probability a positive outranks a negative. */
export function binaryAuc(scores: readonly number[], positive: readonly boolean[]): number | null {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1; // average rank of the tie group, 1-based
    for (let k = i; k <= j; k++) {
      if (positive[idx[k]!]) {
        pos++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (!pos || !neg) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function regressorMetrics(rows: readonly RegressedRow[]): RegressorMetrics {
  const n = rows.length;
  if (!n) return { mae: null, rmse: null, r2: null };
  let abs = 0;
  let sq = 0;
  let mean = 0;
  for (const r of rows) {
    abs += Math.abs(r.predicted - r.actual);
    sq += (r.predicted - r.actual) ** 2;
    mean += r.actual;
  }
  mean /= n;
  let tot = 0;
  for (const r of rows) tot += (r.actual - mean) ** 2;
  // scikit-learn's r2_score: undefined (here null) for a constant truth unless the fit is perfect.
  const r2 = tot > 0 ? 1 - sq / tot : sq === 0 ? 1 : null;
  return { mae: abs / n, rmse: Math.sqrt(sq / n), r2 };
}

/** Labelled rows by (actual, predicted) label: `counts[i][j]` = rows whose truth is labels[i], predicted labels[j]. */
export interface ConfusionMatrix {
  labels: string[];
  counts: number[][];
}

/**
 * The confusion matrix over the model's classes (in their order), then any other label seen in the truth or the
 * predictions (sorted), so a label the model cannot predict still shows where its rows went.
 */
export function confusionMatrix(rows: readonly ClassifiedRow[], classes: readonly string[]): ConfusionMatrix | null {
  if (!rows.length) return null;
  const known = new Set(classes);
  const extra = [...new Set(rows.flatMap((r) => [r.actual, r.predicted]))].filter((l) => !known.has(l)).sort();
  const labels = [...classes, ...extra];
  const at = new Map(labels.map((l, i) => [l, i]));
  const counts = labels.map(() => new Array<number>(labels.length).fill(0));
  for (const r of rows) counts[at.get(r.actual)!]![at.get(r.predicted)!]!++;
  return { labels, counts };
}

export interface CalibrationBin {
  /** The bin covers confidences in [from, to) (the last one includes 1). */
  from: number;
  to: number;
  count: number;
  /** Mean predicted probability of the predicted class in the bin, and the share of its rows predicted right. */
  confidence: number | null;
  accuracy: number | null;
}

export interface Calibration {
  bins: CalibrationBin[];
  /** Expected calibration error: sum over bins of count / n x |accuracy - confidence|. */
  ece: number;
  rows: number;
}

/**
 * Top-label calibration (a reliability diagram): rows with probabilities binned by the probability the model gave
 * its predicted class (the largest), in `bins` equal-width bins over [0, 1]; per bin the mean of that probability
 * and the share of rows whose prediction was right. A calibrated model has accuracy = confidence in each bin.
 */
export function calibration(rows: readonly ClassifiedRow[], bins = 10): Calibration | null {
  const withProba = rows.filter((r) => r.proba?.length);
  if (!withProba.length) return null;
  const sum = new Array<number>(bins).fill(0);
  const right = new Array<number>(bins).fill(0);
  const count = new Array<number>(bins).fill(0);
  for (const r of withProba) {
    const p = Math.max(...r.proba!);
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    sum[b]! += p;
    count[b]!++;
    if (r.predicted === r.actual) right[b]!++;
  }
  const n = withProba.length;
  let ece = 0;
  const out: CalibrationBin[] = count.map((c, b) => {
    const confidence = c ? sum[b]! / c : null;
    const accuracy = c ? right[b]! / c : null;
    if (c) ece += (c / n) * Math.abs(accuracy! - confidence!);
    return { from: b / bins, to: (b + 1) / bins, count: c, confidence, accuracy };
  });
  return { bins: out, ece, rows: n };
}
