import { type TAlert, type TAlertRule, type TDriftStatus } from '@modelyard/contracts';
import { formatMetric } from '@/lib/format';

export { driftAbilities } from '@/lib/roles';

export const STATUS_TEXT: Record<TDriftStatus, string> = { ok: 'ok', warn: 'warn', drift: 'drift' };

/** The ranges the page offers; the API allows at most 93 days. */
export const RANGES = [
  { days: 1, label: 'Last 24 hours' },
  { days: 7, label: 'Last 7 days' },
  { days: 30, label: 'Last 30 days' },
  { days: 90, label: 'Last 90 days' },
] as const;
export const DEFAULT_DAYS = 7;

export const percent = (share: number | null | undefined, digits = 0) =>
  share === null || share === undefined ? '—' : `${(share * 100).toFixed(digits)}%`;

/** p-values collapse to 0 for a strong shift; below 1e-4 the exact figure tells nobody anything. */
export function formatPValue(p: number | null | undefined): string {
  if (p === null || p === undefined) return '—';
  return p < 1e-4 ? '< 0.0001' : formatMetric(p);
}

export const formatStat = (v: number | null | undefined) => (v === null || v === undefined ? '—' : formatMetric(v));

/**
 * A window's label in the heat map and on chart axes: the date for whole-day windows, the date and minute
 * otherwise (UTC, like every time on the dashboard).
 */
export function windowLabel(start: string, end: string): string {
  const minutes = (new Date(end).getTime() - new Date(start).getTime()) / 60_000;
  const iso = new Date(start).toISOString();
  return minutes % 1440 === 0 && iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' ');
}

/**
 * The bins of a profile column as people read them. Numeric: inner edges, right-closed, open at both ends, so
 * n edges make n + 1 bins; categorical: the kept categories, the last count is everything else.
 */
export function binLabels(column: {
  kind: 'numeric' | 'categorical';
  edges?: number[];
  categories?: string[];
  counts: number[];
}): string[] {
  if (column.kind === 'categorical') {
    const cats = column.categories ?? [];
    return column.counts.map((_, i) => cats[i] ?? 'other');
  }
  const e = (column.edges ?? []).map(formatMetric);
  if (!e.length) return column.counts.map(() => 'all');
  return column.counts.map((_, i) =>
    i === 0 ? `≤ ${e[0]}` : i >= e.length ? `> ${e[e.length - 1]}` : `${e[i - 1]} – ${e[i]}`,
  );
}

/** Performance metrics where a smaller value is better (the rule fires above its threshold). */
const LOWER_BETTER = new Set(['logLoss', 'mae', 'rmse']);

export const RULE_KIND_LABELS: Record<TAlertRule['kind'], string> = {
  drift_share: 'Drift share above a limit',
  feature_drift: 'Named features in drift',
  latency_p99: 'p99 latency over the SLO',
  error_rate: 'Error rate above a limit',
  performance: 'Model quality on labelled predictions',
};

/** A rule in one sentence, as the read-only list shows it. */
export function describeRule(rule: TAlertRule, latencySloMs: number): string {
  switch (rule.kind) {
    case 'drift_share':
      return `Fires when more than ${percent(rule.above)} of the features drift (windows with at least ${rule.minRows} rows).`;
    case 'feature_drift':
      return `Fires when any of ${rule.features.join(', ')} is in drift (windows with at least ${rule.minRows} rows).`;
    case 'latency_p99':
      return `Fires when p99 latency is above ${rule.aboveMs ?? latencySloMs} ms${rule.aboveMs === undefined ? ' (the SLO)' : ''} over ${rule.windowMinutes} min (at least ${rule.minRequests} requests).`;
    case 'error_rate':
      return `Fires when more than ${percent(rule.above, 1)} of requests fail over ${rule.windowMinutes} min (at least ${rule.minRequests} requests).`;
    case 'performance':
      return `Fires when ${rule.metric} is ${LOWER_BETTER.has(rule.metric) ? 'above' : 'below'} ${rule.threshold} over ${rule.windowMinutes} min (at least ${rule.minLabels} labelled predictions).`;
  }
}

/** An alert's measured value next to its threshold, in the unit of its kind. */
export function alertFigure(a: Pick<TAlert, 'kind' | 'value' | 'threshold'>): string | null {
  if (a.value === null) return null;
  switch (a.kind) {
    case 'drift_share':
    case 'error_rate':
      return `${percent(a.value, 1)} (limit ${percent(a.threshold, 1)})`;
    case 'latency_p99':
      return `${formatMetric(a.value)} ms (limit ${a.threshold ?? '—'} ms)`;
    case 'feature_drift':
      return `${a.value} feature${a.value === 1 ? '' : 's'} in drift`;
    case 'performance':
      return `${formatMetric(a.value)} (threshold ${a.threshold ?? '—'})`;
  }
}
