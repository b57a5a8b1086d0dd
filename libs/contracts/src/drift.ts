import { z } from 'zod';
import { ZPerformanceMetric } from './feedback.js';

// ---- Drift reports (the shape of libs/server/src/drift driftReport, as the API returns it) ----

export const DRIFT_STATUSES = ['ok', 'warn', 'drift'] as const;
export const ZDriftStatus = z.enum(DRIFT_STATUSES);
export type TDriftStatus = z.infer<typeof ZDriftStatus>;

export const ZDriftColumnStats = z.object({
  count: z.number(),
  missingRate: z.number(),
  mean: z.number().nullable().optional(),
  std: z.number().nullable().optional(),
  min: z.number().nullable().optional(),
  max: z.number().nullable().optional(),
});

export const ZDriftColumn = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  status: ZDriftStatus,
  psi: z.number().nullable(),
  js: z.number().nullable(),
  test: z.enum(['ks', 'chi2']),
  statistic: z.number().nullable(),
  pValue: z.number().nullable(),
  reference: ZDriftColumnStats,
  current: ZDriftColumnStats,
});
export type TDriftColumn = z.infer<typeof ZDriftColumn>;

export const ZDriftReport = z.object({
  rows: z.number(),
  status: ZDriftStatus,
  /** Drifting features / features with values in the window; outputs are reported, not counted. */
  driftShare: z.number(),
  driftedFeatures: z.number(),
  evaluatedFeatures: z.number(),
  features: z.array(ZDriftColumn),
  outputs: z.array(ZDriftColumn),
  thresholds: z.object({
    psi: z.object({ warn: z.number(), drift: z.number() }),
    js: z.number(),
    pValue: z.number(),
    driftShare: z.number(),
  }),
});
export type TDriftReport = z.infer<typeof ZDriftReport>;

/** One window of one version: its time span, rows, and the report computed when it last changed. */
export const ZDriftWindowReport = z.object({
  model: z.string(),
  version: z.number().int(),
  start: z.string(),
  end: z.string(),
  rows: z.number().int(),
  /** True when every row of the window came from a silent (shadow) deployment of the version. */
  silent: z.boolean(),
  updatedAt: z.string(),
  report: ZDriftReport.nullable(),
});
export type TDriftWindowReport = z.infer<typeof ZDriftWindowReport>;

/** One column's value in one window of a series: what a heat map cell and a metric chart need. */
export const ZDriftSeriesPoint = z.object({
  status: ZDriftStatus,
  psi: z.number().nullable(),
  js: z.number().nullable(),
  pValue: z.number().nullable(),
});

export const ZDriftSeries = z.object({
  model: z.string(),
  version: z.number().int(),
  features: z.array(z.string()),
  outputs: z.array(z.string()),
  windows: z.array(
    z.object({
      start: z.string(),
      end: z.string(),
      rows: z.number().int(),
      silent: z.boolean(),
      status: ZDriftStatus.nullable(),
      driftShare: z.number().nullable(),
      /** Keyed by column name, features then outputs. */
      columns: z.record(z.string(), ZDriftSeriesPoint),
    }),
  ),
});
export type TDriftSeries = z.infer<typeof ZDriftSeries>;

export const ZDriftSeriesQuery = z.object({
  /** Default: the production version, else the latest version with a profile. */
  version: z.coerce.number().int().min(1).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type TDriftSeriesQuery = z.input<typeof ZDriftSeriesQuery>;
export const ZDriftLatestQuery = z.object({ version: z.coerce.number().int().min(1).optional() });

/** A version's reference profile as the dashboard draws it: per column the bins and reference counts. */
export const ZDriftProfileColumn = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  /** Numeric: inner bin edges (right-closed bins, open ends). */
  edges: z.array(z.number()).optional(),
  /** Categorical: the kept categories; the last count is "other". */
  categories: z.array(z.string()).optional(),
  counts: z.array(z.number()),
  missing: z.number(),
});
export const ZDriftProfile = z.object({
  model: z.string(),
  version: z.number().int(),
  status: z.enum(['building', 'ready', 'failed']),
  error: z.string().nullable(),
  rows: z.number().int(),
  features: z.array(ZDriftProfileColumn),
  outputs: z.array(ZDriftProfileColumn),
  updatedAt: z.string(),
});
export type TDriftProfile = z.infer<typeof ZDriftProfile>;

/** Current counts of one window over the profile's bins (reference vs current histogram). */
export const ZDriftHistogram = z.object({
  model: z.string(),
  version: z.number().int(),
  column: z.string(),
  start: z.string(),
  reference: ZDriftProfileColumn,
  current: z.object({ counts: z.array(z.number()), missing: z.number() }),
});
export const ZDriftHistogramQuery = z.object({
  version: z.coerce.number().int().min(1).optional(),
  column: z.string().min(1).max(256),
  /** A window start; default the latest window. */
  start: z.iso.datetime({ offset: true }).optional(),
});

// ---- Ad hoc reports ----

/** A CSV with a header row, or a JSON file shaped like reference.json (`feature_names` + `rows`). */
export const ZCreateDriftReportRequest = z.object({ datasetUri: z.string().min(1).max(2048) });
export type TCreateDriftReportRequest = z.infer<typeof ZCreateDriftReportRequest>;

export const ZAdhocDriftReport = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number().int(),
  datasetUri: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  error: z.string().nullable(),
  /** Features only: a dataset carries no model outputs to compare. */
  report: ZDriftReport.nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type TAdhocDriftReport = z.infer<typeof ZAdhocDriftReport>;

// ---- Alerts ----

const ruleBase = { id: z.string().max(64).optional(), description: z.string().max(500).optional() };
/**
 * Drift rules look at each version's latest window that has at least `minRows` rows; latency and error rules at
 * the version's per-minute rollups over the last `windowMinutes` (at least `minRequests` requests).
 */
export const ZAlertRule = z.discriminatedUnion('kind', [
  z.object({
    ...ruleBase,
    kind: z.literal('drift_share'),
    above: z.number().min(0).max(1),
    minRows: z.number().int().min(1).default(50),
  }),
  z.object({
    ...ruleBase,
    kind: z.literal('feature_drift'),
    features: z.array(z.string().min(1)).min(1).max(1000),
    minRows: z.number().int().min(1).default(50),
  }),
  z.object({
    ...ruleBase,
    kind: z.literal('latency_p99'),
    aboveMs: z.number().positive().optional(),
    windowMinutes: z.number().int().min(1).max(1440).default(5),
    minRequests: z.number().int().min(1).default(20),
  }),
  z.object({
    ...ruleBase,
    kind: z.literal('error_rate'),
    above: z.number().min(0).max(1),
    windowMinutes: z.number().int().min(1).max(1440).default(5),
    minRequests: z.number().int().min(1).default(20),
  }),
  /**
   * Model quality on labelled predictions (issue 18): fires when the metric over the last `windowMinutes` is worse
   * than `threshold` (below it; above it for logLoss, mae and rmse) with at least `minLabels` labelled rows.
   */
  z.object({
    ...ruleBase,
    kind: z.literal('performance'),
    metric: ZPerformanceMetric,
    threshold: z.number(),
    windowMinutes: z.number().int().min(1).max(44_640).default(60),
    minLabels: z.number().int().min(1).default(50),
  }),
]);
export type TAlertRule = z.output<typeof ZAlertRule>;
export const ALERT_KINDS = ['drift_share', 'feature_drift', 'latency_p99', 'error_rate', 'performance'] as const;

/** `latencySloMs` is the model's p99 latency SLO, used by latency_p99 rules without their own `aboveMs`. */
export const ZPutAlertRulesRequest = z.object({
  latencySloMs: z.number().int().min(1).max(600_000).default(300),
  rules: z.array(ZAlertRule).max(100),
});
export type TPutAlertRulesRequest = z.input<typeof ZPutAlertRulesRequest>;

export const ZAlertRules = z.object({
  model: z.string(),
  latencySloMs: z.number().int(),
  /** Every rule has an id: the caller's, or one derived from its content (the same rule keeps its id). */
  rules: z.array(ZAlertRule),
  updatedBy: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
export type TAlertRules = z.infer<typeof ZAlertRules>;

export const ALERT_STATES = ['firing', 'resolved'] as const;
export const ZAlert = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number().int(),
  ruleId: z.string(),
  kind: z.enum(ALERT_KINDS),
  state: z.enum(ALERT_STATES),
  /** Silent (shadow) versions' alerts are recorded here and never delivered by webhook. */
  silent: z.boolean(),
  message: z.string(),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  details: z.record(z.string(), z.unknown()),
  firedAt: z.string(),
  resolvedAt: z.string().nullable(),
});
export type TAlert = z.infer<typeof ZAlert>;

export const ZAlertQuery = z.object({
  model: z.string().max(128).optional(),
  state: z.enum(ALERT_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type TAlertQuery = z.input<typeof ZAlertQuery>;

/**
 * `GET /v1/models/{name}/slo`: the latency SLO and its error budget over a range, from the per-minute rollups. A
 * request is bad when it failed (5xx, 429) or took longer than the SLO; the objective is the share that must be
 * good (default 99 %), so the budget is `(1 - objective) x requests` bad requests.
 */
export const ZSloQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  version: z.coerce.number().int().min(1).optional(),
  objective: z.coerce.number().min(0.5).max(0.99999).default(0.99),
});
export type TSloQuery = z.input<typeof ZSloQuery>;

export const ZSloReport = z.object({
  model: z.string(),
  from: z.string(),
  to: z.string(),
  latencySloMs: z.number(),
  objective: z.number(),
  requests: z.number(),
  errors: z.number(),
  /** Estimated from the latency histogram (linear within the bucket that holds the SLO). */
  slowRequests: z.number(),
  /** Share of good requests; null without traffic. */
  goodRatio: z.number().nullable(),
  p99Ms: z.number().nullable(),
  budget: z.object({
    allowedBad: z.number(),
    /** Bad requests / allowed bad requests: above 1 the budget is spent. */
    consumed: z.number().nullable(),
    remaining: z.number().nullable(),
  }),
});
export type TSloReport = z.infer<typeof ZSloReport>;
