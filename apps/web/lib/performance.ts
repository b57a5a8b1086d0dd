import type { TPerformanceReport, TPerformanceSlice } from '@modelyard/contracts';
import type { LatencyView, SeriesInfo } from './latency';

/** The metrics the page offers, with what they are for. */
export const CLASSIFIER_COLUMNS = ['accuracy', 'precision', 'recall', 'f1', 'auc', 'logLoss'] as const;
export const REGRESSOR_COLUMNS = ['mae', 'rmse', 'r2'] as const;
export type PerformanceColumn = (typeof CLASSIFIER_COLUMNS)[number] | (typeof REGRESSOR_COLUMNS)[number];

export const RANGES = {
  '24h': { label: '24 hours', ms: 24 * 3600_000, window: '1h', stepMs: 3600_000 },
  '7d': { label: '7 days', ms: 7 * 24 * 3600_000, window: '6h', stepMs: 6 * 3600_000 },
  '30d': { label: '30 days', ms: 30 * 24 * 3600_000, window: '1d', stepMs: 24 * 3600_000 },
} as const;
export type RangeKey = keyof typeof RANGES;
export const RANGE_KEYS = Object.keys(RANGES) as RangeKey[];
export const parseRange = (v: unknown): RangeKey => (typeof v === 'string' && v in RANGES ? (v as RangeKey) : '24h');

export const sliceKey = (s: Pick<TPerformanceSlice, 'version' | 'role'>) => `v${s.version} ${s.role}`;

/** Regression metrics when any slice has them and no classifier metric does. */
export function isRegression(report: TPerformanceReport): boolean {
  const all = [...report.byVersion];
  return all.some((s) => s.mae !== null) && all.every((s) => s.accuracy === null);
}

/**
 * The report's windows as the latency charts' shape: one series per version and role, one row per window with
 * `<key>|<metric>` and `<key>|coverage`, so the same recharts component draws them.
 */
export function performanceView(report: TPerformanceReport, stepMs: number): LatencyView {
  const series: SeriesInfo[] = report.byVersion.map((s) => ({
    key: sliceKey(s),
    role: s.role,
    version: s.version,
    count: s.predictions,
    errors: 0,
    errorRate: null,
    requestsPerSecond: 0,
    p50Ms: null,
    p95Ms: null,
    p99Ms: null,
  }));
  const rows = new Map<number, { t: number; [k: string]: number | null }>();
  for (const w of report.byWindow) {
    const t = Date.parse(w.start!);
    const row = rows.get(t) ?? { t };
    for (const [k, v] of Object.entries(w)) if (typeof v === 'number' || v === null) row[`${sliceKey(w)}|${k}`] = v;
    rows.set(t, row);
  }
  return {
    from: Date.parse(report.from),
    to: Date.parse(report.to),
    stepMs,
    series,
    rows: [...rows.values()].sort((a, b) => a.t - b.t),
  };
}
