import { quantileOf, type TMetricPoint, type TMetricSeries } from '@modelyard/contracts';

/**
 * Turning the API's per-minute rollups into what the charts draw. Pure functions, run by server components,
 * so the browser receives a few hundred numbers instead of a week of minutes.
 */

/** The ranges the latency page offers; the step keeps every chart at 60 to 100 points. */
export const RANGES = {
  '1h': { label: '1 h', ms: 3_600_000, stepMs: 60_000 },
  '24h': { label: '24 h', ms: 86_400_000, stepMs: 15 * 60_000 },
  '7d': { label: '7 d', ms: 7 * 86_400_000, stepMs: 2 * 3_600_000 },
} as const;
export type RangeKey = keyof typeof RANGES;
export const RANGE_KEYS = Object.keys(RANGES) as RangeKey[];
export const parseRange = (v: unknown): RangeKey => (typeof v === 'string' && v in RANGES ? (v as RangeKey) : '1h');

/** The order series appear in (legend, table): what answers callers first, shadows last. */
const ROLE_ORDER = ['production', 'pilot', 'explicit', 'silent'];

/** One line on a chart: a version in one role ("production v1", "pilot v2", "silent v3"). */
export interface SeriesInfo {
  key: string;
  role: string;
  version: number;
  count: number;
  errors: number;
  errorRate: number | null;
  requestsPerSecond: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/** One step of the range: per series key, requests/s, error rate and quantiles (null when it had no traffic). */
export interface StepRow {
  t: number;
  [metric: string]: number | null;
}

export interface LatencyView {
  from: number;
  to: number;
  stepMs: number;
  series: SeriesInfo[];
  rows: StepRow[];
}

const quantileMs = quantileOf;

interface Acc {
  count: number;
  errors: number;
  buckets: number[];
}
const emptyAcc = (width: number): Acc => ({ count: 0, errors: 0, buckets: new Array(width).fill(0) });
function add(acc: Acc, p: TMetricPoint) {
  acc.count += p.count;
  acc.errors += p.errors;
  p.buckets.forEach((b, i) => {
    acc.buckets[i] = (acc.buckets[i] ?? 0) + b;
  });
}

export const seriesKey = (role: string, version: number) => `${role} v${version}`;

/**
 * Steps of `stepMs` from `from` to `to`, one value per series and metric: `<key>|rps`, `<key>|errorRate`,
 * `<key>|p50`, `<key>|p95`, `<key>|p99`. Minutes merge by adding their histograms, so a step's p99 is the p99 of
 * its requests, not an average of minutes' p99s.
 */
export function latencyView(series: TMetricSeries, stepMs: number): LatencyView {
  const from = Math.floor(Date.parse(series.from) / stepMs) * stepMs;
  const to = Date.parse(series.to);
  const width = series.bucketsMs.length + 1;
  const steps = Math.max(1, Math.ceil((to - from) / stepMs));
  const perStep = new Map<string, Acc[]>();
  const totals = new Map<string, { role: string; version: number; acc: Acc }>();
  for (const p of series.points) {
    const key = seriesKey(p.role, p.version);
    let row = perStep.get(key);
    if (!row) {
      row = Array.from({ length: steps }, () => emptyAcc(width));
      perStep.set(key, row);
      totals.set(key, { role: p.role, version: p.version, acc: emptyAcc(width) });
    }
    const i = Math.min(steps - 1, Math.max(0, Math.floor((Date.parse(p.minute) - from) / stepMs)));
    add(row[i]!, p);
    add(totals.get(key)!.acc, p);
  }
  const seconds = Math.max(1, (to - from) / 1000);
  const list: SeriesInfo[] = [...totals.entries()].map(([key, { role, version, acc }]) => ({
    key,
    role,
    version,
    count: acc.count,
    errors: acc.errors,
    errorRate: acc.count ? acc.errors / acc.count : null,
    requestsPerSecond: acc.count / seconds,
    p50Ms: quantileMs(acc.buckets, series.bucketsMs, 0.5),
    p95Ms: quantileMs(acc.buckets, series.bucketsMs, 0.95),
    p99Ms: quantileMs(acc.buckets, series.bucketsMs, 0.99),
  }));
  list.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.version - b.version);

  const rows: StepRow[] = Array.from({ length: steps }, (_, i) => ({ t: from + i * stepMs }));
  for (const s of list) {
    perStep.get(s.key)!.forEach((acc, i) => {
      const row = rows[i]!;
      row[`${s.key}|rps`] = Math.round((acc.count / (stepMs / 1000)) * 1000) / 1000;
      row[`${s.key}|errorRate`] = acc.count ? acc.errors / acc.count : null;
      row[`${s.key}|p50`] = quantileMs(acc.buckets, series.bucketsMs, 0.5);
      row[`${s.key}|p95`] = quantileMs(acc.buckets, series.bucketsMs, 0.95);
      row[`${s.key}|p99`] = quantileMs(acc.buckets, series.bucketsMs, 0.99);
    });
  }
  return { from, to, stepMs, series: list, rows };
}
