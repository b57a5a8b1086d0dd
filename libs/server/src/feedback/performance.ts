import type { TPerformanceFigures, TPerformanceQuality, TPerformanceSlice, TSignature } from '@modelyard/contracts';
import {
  calibration,
  classifierMetrics,
  confusionMatrix,
  regressorMetrics,
  type ClassifiedRow,
  type RegressedRow,
} from './performance-metrics.js';

/** A logged request as the performance report reads it (PredictionLog without features). */
export interface LoggedRequest {
  version: number;
  role: string;
  at: Date;
  /** One record per row, keyed by output name (PredictionLog.outputs). */
  outputs: unknown;
  predictionId: string | null;
  entityIds: string[];
  callerGroups: string[];
}

export interface StoredLabel {
  predictionId: string | null;
  row: number | null;
  entityId: string | null;
  label: unknown;
}

/** How to read a version's logged outputs: a classifier's label and probabilities, or a regressor's value. */
export interface VersionView {
  task: 'classification' | 'regression';
  classes: string[];
  labelOutput?: string;
  probabilityOutput?: string;
  valueOutput?: string;
}

export function viewOf(signature: TSignature): VersionView {
  const classes = (signature.classes ?? []).map(String);
  if (signature.labelOutput || signature.probabilityOutput || signature.task === 'classification')
    return {
      task: 'classification',
      classes,
      labelOutput: signature.labelOutput,
      probabilityOutput: signature.probabilityOutput,
    };
  return { task: 'regression', classes, valueOutput: signature.outputs[0]?.name };
}

/** One logged row, with its label when one joined. */
export interface ScoredRow {
  version: number;
  role: string;
  at: number;
  groups: string[];
  task: VersionView['task'];
  classified?: ClassifiedRow;
  regressed?: RegressedRow;
}

const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);

/**
 * Joins labels to logged rows: row i of a request takes the label given for (its prediction id, i), else the one
 * given for its entity id i. A label a row cannot use (a word for a regressor) leaves the row unlabelled.
 */
export function joinLabels(
  requests: readonly LoggedRequest[],
  labels: readonly StoredLabel[],
  views: ReadonlyMap<number, VersionView>,
): ScoredRow[] {
  const byPrediction = new Map<string, unknown>();
  const byEntity = new Map<string, unknown>();
  for (const l of labels) {
    if (l.predictionId) byPrediction.set(`${l.predictionId}:${l.row ?? 0}`, l.label);
    else if (l.entityId) byEntity.set(l.entityId, l.label);
  }
  const out: ScoredRow[] = [];
  for (const r of requests) {
    const view = views.get(r.version);
    const rows = Array.isArray(r.outputs) ? (r.outputs as Record<string, unknown>[]) : [];
    for (let i = 0; i < rows.length; i++) {
      const scored: ScoredRow = {
        version: r.version,
        role: r.role,
        at: r.at.getTime(),
        groups: r.callerGroups,
        task: view?.task ?? 'classification',
      };
      out.push(scored);
      if (!view) continue;
      let label = r.predictionId ? byPrediction.get(`${r.predictionId}:${i}`) : undefined;
      if (label === undefined && r.entityIds[i] !== undefined) label = byEntity.get(r.entityIds[i]!);
      if (label === undefined || label === null) continue;
      const o = rows[i] ?? {};
      if (view.task === 'classification') {
        const proba = view.probabilityOutput ? o[view.probabilityOutput] : undefined;
        const probs = Array.isArray(proba) ? proba.map(Number) : undefined;
        let predicted = view.labelOutput ? first(o[view.labelOutput]) : undefined;
        if (predicted === undefined && probs?.length) predicted = view.classes[probs.indexOf(Math.max(...probs))];
        if (predicted === undefined) continue;
        scored.classified = {
          predicted: String(predicted),
          actual: String(label),
          proba: probs && probs.length === view.classes.length ? probs : undefined,
        };
      } else {
        const actual = typeof label === 'number' ? label : Number(label);
        const predicted = Number(first(view.valueOutput ? o[view.valueOutput] : undefined));
        if (!Number.isFinite(actual) || !Number.isFinite(predicted)) continue;
        scored.regressed = { predicted, actual };
      }
    }
  }
  return out;
}

export function figuresOf(rows: readonly ScoredRow[], classes: readonly string[]): TPerformanceFigures {
  const cls = rows.flatMap((r) => (r.classified ? [r.classified] : []));
  const reg = rows.flatMap((r) => (r.regressed ? [r.regressed] : []));
  const labelled = cls.length + reg.length;
  const c = classifierMetrics(cls, classes);
  const g = regressorMetrics(reg);
  return {
    predictions: rows.length,
    labelled,
    coverage: rows.length ? labelled / rows.length : null,
    ...c,
    ...g,
  };
}

/** The slices of a report: per (version, role), per (window, version, role) and per (caller group, version, role). */
export function sliceReport(
  rows: readonly ScoredRow[],
  views: ReadonlyMap<number, VersionView>,
  from: Date,
  windowMinutes: number,
): { byVersion: TPerformanceSlice[]; byWindow: TPerformanceSlice[]; byGroup: TPerformanceSlice[] } {
  const step = windowMinutes * 60_000;
  const groups = new Map<
    string,
    { version: number; role: string; group: string | null; start: number | null; rows: ScoredRow[] }
  >();
  const add = (version: number, role: string, group: string | null, start: number | null, r: ScoredRow) => {
    const k = `${version}\u0000${role}\u0000${group ?? ''}\u0000${start ?? ''}`;
    let s = groups.get(k);
    if (!s) groups.set(k, (s = { version, role, group, start, rows: [] }));
    s.rows.push(r);
  };
  for (const r of rows) {
    add(r.version, r.role, null, null, r);
    add(r.version, r.role, null, from.getTime() + Math.floor((r.at - from.getTime()) / step) * step, r);
    for (const g of r.groups) add(r.version, r.role, g, null, r);
  }
  const byVersion: TPerformanceSlice[] = [];
  const byWindow: TPerformanceSlice[] = [];
  const byGroup: TPerformanceSlice[] = [];
  const order = (a: TPerformanceSlice, b: TPerformanceSlice) =>
    (a.start ?? '').localeCompare(b.start ?? '') ||
    (a.group ?? '').localeCompare(b.group ?? '') ||
    b.version - a.version ||
    a.role.localeCompare(b.role);
  for (const s of groups.values()) {
    const slice: TPerformanceSlice = {
      version: s.version,
      role: s.role,
      group: s.group,
      start: s.start === null ? null : new Date(s.start).toISOString(),
      ...figuresOf(s.rows, views.get(s.version)?.classes ?? []),
    };
    if (s.group !== null) byGroup.push(slice);
    else if (s.start !== null) byWindow.push(slice);
    else byVersion.push(slice);
  }
  return { byVersion: byVersion.sort(order), byWindow: byWindow.sort(order), byGroup: byGroup.sort(order) };
}

/**
 * Per (version, role) of a classifier with labelled rows: its confusion matrix over the version's classes and its
 * top-label calibration (when probabilities were logged), newest version first.
 */
export function qualityReport(
  rows: readonly ScoredRow[],
  views: ReadonlyMap<number, VersionView>,
): TPerformanceQuality[] {
  const by = new Map<string, { version: number; role: string; rows: ClassifiedRow[] }>();
  for (const r of rows) {
    if (!r.classified) continue;
    const k = `${r.version}\u0000${r.role}`;
    let s = by.get(k);
    if (!s) by.set(k, (s = { version: r.version, role: r.role, rows: [] }));
    s.rows.push(r.classified);
  }
  return [...by.values()]
    .map((s) => ({
      version: s.version,
      role: s.role,
      confusion: confusionMatrix(s.rows, views.get(s.version)?.classes ?? []),
      calibration: calibration(s.rows),
    }))
    .sort((a, b) => b.version - a.version || a.role.localeCompare(b.role));
}
