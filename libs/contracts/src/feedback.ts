import { z } from 'zod';

/**
 * Ground truth and performance monitoring (issue 18). Every prediction answer carries an `X-Prediction-Id`
 * header; a caller may also name its own entity per row with `X-Entity-Id` (comma-separated, one per row). Labels
 * (classes) or target values (numbers) arrive later by either id and are joined to the prediction log.
 */

/** A caller's entity id: what it calls the thing predicted (an order, a customer, a transaction). */
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9._:@/-]{1,128}$/;
export const ZEntityId = z
  .string()
  .regex(ENTITY_ID_PATTERN, '1 to 128 letters, digits and . _ : @ / - (no commas or spaces)');

export const ZFeedbackLabel = z.union([
  z.string().min(1).max(256),
  z.number().refine((n) => Number.isFinite(n), 'a finite number'),
]);

/** One label: about row `row` (0 by default) of the prediction `predictionId`, or about every row of `entityId`. */
export const ZFeedbackItem = z
  .object({
    predictionId: z.uuid().optional(),
    row: z.number().int().min(0).max(1_000_000).optional(),
    entityId: ZEntityId.optional(),
    label: ZFeedbackLabel,
  })
  .strict()
  .refine((i) => (i.predictionId === undefined) !== (i.entityId === undefined), {
    message: 'give either predictionId or entityId',
  })
  .refine((i) => i.row === undefined || i.predictionId !== undefined, { message: 'row goes with predictionId' });
export type TFeedbackItem = z.infer<typeof ZFeedbackItem>;

export const MAX_FEEDBACK_ITEMS = 50_000;

/**
 * `POST /v1/models/{name}/feedback`: one item, `{labels: [items]}`, or the same items as CSV (header
 * `predictionId,row,entityId,label`, any subset with label) or JSON Lines (`text/csv`, `application/x-ndjson`).
 */
export const ZFeedbackList = z.object({ labels: z.array(ZFeedbackItem).min(1).max(MAX_FEEDBACK_ITEMS) }).strict();
export const ZFeedbackRequest = z.union([ZFeedbackItem, ZFeedbackList]);
export type TFeedbackRequest = z.input<typeof ZFeedbackRequest>;

/** What an upload did. Duplicates within it keep the last; a label for a key that had one replaces it. */
export const ZFeedbackResult = z.object({
  received: z.number().int(),
  /** Keys labelled for the first time. */
  stored: z.number().int(),
  /** Keys that had a label, now replaced by this one (last wins). */
  replaced: z.number().int(),
  /** Items of this upload overridden by a later item with the same key. */
  duplicates: z.number().int(),
  /** Labels whose prediction or entity is in the prediction log now (others join when their prediction lands). */
  matched: z.number().int(),
});
export type TFeedbackResult = z.infer<typeof ZFeedbackResult>;

export const PERFORMANCE_METRICS = [
  'accuracy',
  'precision',
  'recall',
  'f1',
  'auc',
  'logLoss',
  'mae',
  'rmse',
  'r2',
] as const;
export const ZPerformanceMetric = z.enum(PERFORMANCE_METRICS);
export type PerformanceMetric = z.infer<typeof ZPerformanceMetric>;

/** A duration: minutes, hours or days, e.g. `15m`, `1h`, `7d`. */
export const ZDuration = z
  .string()
  .regex(/^[1-9][0-9]{0,4}[mhd]$/, 'a duration such as 15m, 1h or 1d')
  .transform((s) => Number(s.slice(0, -1)) * { m: 1, h: 60, d: 1440 }[s.slice(-1) as 'm' | 'h' | 'd']);

export const ZPerformanceQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** Length of each window of the series (default 1h). */
  window: ZDuration.optional(),
  version: z.coerce.number().int().min(1).optional(),
});
export type TPerformanceQuery = z.input<typeof ZPerformanceQuery>;

const metricValue = z.number().nullable();
/** The figures of one slice; `coverage` = labelled / predictions (rows), given with every figure. */
export const ZPerformanceFigures = z.object({
  predictions: z.number().int(),
  labelled: z.number().int(),
  coverage: z.number().nullable(),
  accuracy: metricValue,
  precision: metricValue,
  recall: metricValue,
  f1: metricValue,
  auc: metricValue,
  logLoss: metricValue,
  mae: metricValue,
  rmse: metricValue,
  r2: metricValue,
});
export type TPerformanceFigures = z.infer<typeof ZPerformanceFigures>;

export const DEPLOYMENT_ROLES = ['production', 'pilot', 'silent', 'explicit'] as const;
export const ZPerformanceSlice = ZPerformanceFigures.extend({
  version: z.number().int(),
  role: z.string(),
  /** byGroup: the caller group's name. */
  group: z.string().nullable(),
  /** byWindow: the window's start. */
  start: z.string().nullable(),
});
export type TPerformanceSlice = z.infer<typeof ZPerformanceSlice>;

/** Labelled rows by (truth, prediction): counts[i][j] = rows whose label is labels[i] and prediction labels[j]. */
export const ZConfusionMatrix = z.object({ labels: z.array(z.string()), counts: z.array(z.array(z.number().int())) });
export type TConfusionMatrix = z.infer<typeof ZConfusionMatrix>;

/**
 * Top-label calibration: labelled rows binned by the probability given to the predicted class; per bin its mean
 * (confidence) and the share predicted right (accuracy). `ece`: sum of count / rows x |accuracy - confidence|.
 */
export const ZCalibration = z.object({
  rows: z.number().int(),
  ece: z.number(),
  bins: z.array(
    z.object({
      from: z.number(),
      to: z.number(),
      count: z.number().int(),
      confidence: z.number().nullable(),
      accuracy: z.number().nullable(),
    }),
  ),
});
export type TCalibration = z.infer<typeof ZCalibration>;

/** A classifier's confusion matrix and calibration for one (version, role) over the report's range. */
export const ZPerformanceQuality = z.object({
  version: z.number().int(),
  role: z.string(),
  confusion: ZConfusionMatrix.nullable(),
  calibration: ZCalibration.nullable(),
});
export type TPerformanceQuality = z.infer<typeof ZPerformanceQuality>;

/** `GET /v1/models/{name}/performance`: labelled predictions of a range, per version and role, window and group. */
export const ZPerformanceReport = z.object({
  model: z.string(),
  from: z.string(),
  to: z.string(),
  windowMinutes: z.number().int(),
  /** True when the range held more logged predictions than one report reads (PERFORMANCE_MAX_ROWS, newest kept). */
  truncated: z.boolean(),
  byVersion: z.array(ZPerformanceSlice),
  byWindow: z.array(ZPerformanceSlice),
  byGroup: z.array(ZPerformanceSlice),
  /** Classifiers: per (version, role) with labelled rows, the confusion matrix and calibration. */
  quality: z.array(ZPerformanceQuality),
});
export type TPerformanceReport = z.infer<typeof ZPerformanceReport>;

/** A pilot's (or a silent version's) labelled traffic against production's over the same range. */
export const ZPilotComparisonQuery = z.object({
  version: z.coerce.number().int().min(1),
  metric: ZPerformanceMetric.default('accuracy'),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  confidence: z.coerce.number().min(0.5).max(0.999).default(0.95),
  minLabels: z.coerce.number().int().min(1).max(10_000_000).default(30),
});
export type TPilotComparisonQuery = z.input<typeof ZPilotComparisonQuery>;

const ZSide = z.object({
  version: z.number().int().nullable(),
  role: z.string(),
  predictions: z.number().int(),
  labelled: z.number().int(),
  coverage: z.number().nullable(),
  value: z.number().nullable(),
  requests: z.number().int(),
  errorRate: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});

export const ZPilotComparison = z.object({
  model: z.string(),
  metric: ZPerformanceMetric,
  from: z.string(),
  to: z.string(),
  confidence: z.number(),
  candidate: ZSide,
  production: ZSide,
  /** candidate - production, with its confidence interval and two-sided p-value; null until both sides have labels. */
  difference: z.number().nullable(),
  ciLow: z.number().nullable(),
  ciHigh: z.number().nullable(),
  pValue: z.number().nullable(),
  method: z.enum(['two-proportion z test', 'bootstrap']).nullable(),
  verdict: z.enum(['better', 'worse', 'undecided']),
  /** Labelled predictions still needed on each side before the observed difference could be decided. */
  moreNeeded: z.number().int().nullable(),
  /** Server error rate of candidate - production (from the request rollups), and its two-proportion z test p-value. */
  errorRateDifference: z.number().nullable(),
  errorRatePValue: z.number().nullable(),
  summary: z.string(),
});
export type TPilotComparison = z.infer<typeof ZPilotComparison>;

/**
 * A pilot's statistical rule: once both it and production have `minLabels` labelled predictions in the last
 * `windowMinutes`, promote it when it is better with `confidence`, roll it back when it is worse.
 */
export const ZPilotJudge = z.object({
  metric: ZPerformanceMetric.default('accuracy'),
  minLabels: z.number().int().min(10).max(10_000_000).default(200),
  confidence: z.number().min(0.8).max(0.999).default(0.95),
  windowMinutes: z.number().int().min(1).max(44_640).default(1440),
  promote: z.boolean().default(true),
  rollback: z.boolean().default(true),
});
export type TPilotJudge = z.infer<typeof ZPilotJudge>;
