import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { CommonConfig } from '@modelyard/config';
import {
  ZSignature,
  type PerformanceMetric,
  type TPerformanceReport,
  type TPilotComparison,
  type ZPerformanceQuery,
  type ZPilotComparisonQuery,
} from '@modelyard/contracts';
import { authorize, authorizeModel, type Principal } from '../auth/principal.js';
import { keyFor, modelNameOf } from '../tenancy/model-key.js';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG } from '../platform/tokens.js';
import { PredictionLogRepository } from '../predictions/prediction-log.repository.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { RollupsRepository } from '../serving/rollups.repository.js';
import { quantileMs, timeRange } from '../serving/rollups.service.js';
import { FeedbackRepository } from './feedback.repository.js';
import { joinLabels, qualityReport, sliceReport, viewOf, type ScoredRow, type VersionView } from './performance.js';
import { classifierMetrics, LOWER_IS_BETTER, regressorMetrics, type ClassifiedRow } from './performance-metrics.js';
import { bootstrapDifference, twoProportionTest, verdictOf, type Comparison } from './pilot-stats.js';

const DAY_MS = 24 * 3600_000;
const MAX_WINDOWS = 1000;
/** Bootstrap effort per verdict: resamples, and at most this many rows per side (a deterministic thinning). */
const BOOTSTRAP_ITERATIONS = 400;
const BOOTSTRAP_MAX_ROWS = 5000;

export interface ScoredRange {
  rows: ScoredRow[];
  views: Map<number, VersionView>;
  truncated: boolean;
}

/** One side's labelled rows, ready for a metric. */
type Labelled = { classified: ClassifiedRow[]; regressed: { predicted: number; actual: number }[] };

export function metricOf(metric: PerformanceMetric, side: Labelled, classes: readonly string[]): number | null {
  if (side.regressed.length) {
    if (metric !== 'mae' && metric !== 'rmse' && metric !== 'r2') return null;
    return regressorMetrics(side.regressed)[metric];
  }
  if (metric === 'mae' || metric === 'rmse' || metric === 'r2') return null;
  return classifierMetrics(side.classified, classes)[metric];
}

/**
 * Performance of labelled predictions: the report per version, role, window and caller group, and a candidate's
 * (pilot or silent version) comparison with production, which the deployment guard and alert rules use too.
 */
@Injectable()
export class PerformanceService {
  private readonly maxRows: number;

  constructor(
    private readonly log: PredictionLogRepository,
    private readonly labels: FeedbackRepository,
    private readonly registry: RegistryRepository,
    private readonly rollups: RollupsRepository,
    @Inject(COMMON_CONFIG) cfg: CommonConfig,
  ) {
    this.maxRows = cfg.performance?.maxRows ?? 100_000;
  }

  async report(actor: Principal, name: string, q: z.output<typeof ZPerformanceQuery>): Promise<TPerformanceReport> {
    authorize(actor, 'performance.read');
    authorizeModel(actor, name);
    name = keyFor(actor, name);
    const m = await this.model(name);
    const { from, to } = rangeOf(q);
    const windowMinutes = q.window ?? 60;
    if ((to.getTime() - from.getTime()) / (windowMinutes * 60_000) > MAX_WINDOWS)
      throw new AppError(
        'VALIDATION_FAILED',
        `At most ${MAX_WINDOWS} windows per report: widen window or narrow the range`,
      );
    const scored = await this.scored(m.id, name, from, to, q.version);
    return {
      model: modelNameOf(name),
      from: from.toISOString(),
      to: to.toISOString(),
      windowMinutes,
      truncated: scored.truncated,
      ...sliceReport(scored.rows, scored.views, from, windowMinutes),
      quality: qualityReport(scored.rows, scored.views),
    };
  }

  async compare(actor: Principal, name: string, q: z.output<typeof ZPilotComparisonQuery>): Promise<TPilotComparison> {
    authorize(actor, 'performance.read');
    authorizeModel(actor, name);
    name = keyFor(actor, name);
    const m = await this.model(name);
    const { from, to } = rangeOf(q);
    return this.comparison(m.id, name, q.version, q.metric, from, to, q.confidence, q.minLabels);
  }

  /** The logged rows of a range with the labels that joined them (no authorization: callers have done it). */
  async scored(modelId: string, model: string, from: Date, to: Date, version?: number): Promise<ScoredRange> {
    const requests = await this.log.forPerformance(model, from, to, version, this.maxRows + 1);
    const truncated = requests.length > this.maxRows;
    if (truncated) requests.length = this.maxRows;
    const predictionIds = [...new Set(requests.flatMap((r) => (r.predictionId ? [r.predictionId] : [])))];
    const entityIds = [...new Set(requests.flatMap((r) => r.entityIds))];
    const labels = await this.labels.find(modelId, predictionIds, entityIds);
    const views = new Map<number, VersionView>();
    for (const v of await this.registry.listVersions(modelId)) {
      const sig = ZSignature.safeParse(v.signature);
      if (sig.success) views.set(v.number, viewOf(sig.data));
    }
    return { rows: joinLabels(requests, labels, views), views, truncated };
  }

  /**
   * The candidate version's labelled traffic (as a pilot or silent version) against production's over the range:
   * the metric on each side, the difference with its interval and p-value (two-proportion z test for accuracy,
   * bootstrap otherwise), the verdict, latency and error rates from the rollups, and a one-line summary.
   */
  async comparison(
    modelId: string,
    model: string,
    version: number,
    metric: PerformanceMetric,
    from: Date,
    to: Date,
    confidence: number,
    minLabels: number,
  ): Promise<TPilotComparison> {
    const { rows, views } = await this.scored(modelId, model, from, to);
    const candRows = rows.filter((r) => r.version === version && (r.role === 'pilot' || r.role === 'silent'));
    const prodRows = rows.filter((r) => r.role === 'production');
    const prodVersion = latestVersion(prodRows);
    const classes = views.get(version)?.classes ?? [];
    const cand = labelledOf(candRows);
    const prod = labelledOf(prodRows);
    const nCand = cand.classified.length + cand.regressed.length;
    const nProd = prod.classified.length + prod.regressed.length;
    let stat: Comparison | null = null;
    if (nCand && nProd) {
      if (metric === 'accuracy' && cand.classified.length && prod.classified.length) {
        const right = (rs: ClassifiedRow[]) => rs.filter((r) => r.predicted === r.actual).length;
        stat = twoProportionTest(right(cand.classified), nCand, right(prod.classified), nProd, confidence);
      } else {
        const thin = <T>(rs: T[]) =>
          rs.length <= BOOTSTRAP_MAX_ROWS
            ? rs
            : rs.filter((_, i) => i % Math.ceil(rs.length / BOOTSTRAP_MAX_ROWS) === 0);
        const side = (s: Labelled) => [...s.classified.map((c) => ({ c })), ...s.regressed.map((g) => ({ g }))];
        const fn = (rs: readonly { c?: ClassifiedRow; g?: { predicted: number; actual: number } }[]) =>
          metricOf(
            metric,
            { classified: rs.flatMap((r) => (r.c ? [r.c] : [])), regressed: rs.flatMap((r) => (r.g ? [r.g] : [])) },
            classes,
          );
        stat = bootstrapDifference(thin(side(cand)), thin(side(prod)), fn, {
          iterations: BOOTSTRAP_ITERATIONS,
          confidence,
        });
      }
    }
    const lower = LOWER_IS_BETTER.has(metric);
    const enough = nCand >= minLabels && nProd >= minLabels;
    const verdict = verdictOf(stat, lower, enough);
    const shortOfMin = Math.max(0, minLabels - Math.min(nCand, nProd));
    const moreNeeded =
      verdict !== 'undecided'
        ? 0
        : stat?.moreNeeded == null
          ? shortOfMin || null
          : Math.max(stat.moreNeeded, shortOfMin);
    const lat = await this.rollups.range(model, from, to);
    const candLat = latencyOf(lat.filter((r) => r.version === version && (r.role === 'pilot' || r.role === 'silent')));
    const prodLat = latencyOf(lat.filter((r) => r.role === 'production'));
    const errTest =
      candLat.requests && prodLat.requests
        ? twoProportionTest(candLat.errors, candLat.requests, prodLat.errors, prodLat.requests, confidence)
        : null;
    const candValue = metricOf(metric, cand, classes);
    const prodValue = metricOf(metric, prod, classes);
    const candRole = candRows[0]?.role ?? 'pilot';
    const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
    const summary =
      `${candRole} v${version} ${metric} ${fmt(candValue)} vs production${prodVersion ? ` v${prodVersion}` : ''} ` +
      `${fmt(prodValue)}` +
      (stat
        ? ` (difference ${stat.difference >= 0 ? '+' : ''}${stat.difference.toFixed(3)}, ` +
          `${Math.round(confidence * 100)}% CI [${stat.ciLow.toFixed(3)}, ${stat.ciHigh.toFixed(3)}], ` +
          `p = ${stat.pValue.toPrecision(3)}, ${stat.method})`
        : '') +
      ` on ${nCand} and ${nProd} labelled predictions: ${verdict}` +
      (verdict === 'undecided' && moreNeeded ? ` (about ${moreNeeded} more labelled predictions each needed)` : '');
    const sideOf = (
      v: number | null,
      role: string,
      rs: ScoredRow[],
      n: number,
      value: number | null,
      l: ReturnType<typeof latencyOf>,
    ) => ({
      version: v,
      role,
      predictions: rs.length,
      labelled: n,
      coverage: rs.length ? n / rs.length : null,
      value,
      requests: l.requests,
      errorRate: l.requests ? l.errors / l.requests : null,
      p50Ms: l.p50Ms,
      p99Ms: l.p99Ms,
    });
    return {
      model: modelNameOf(model),
      metric,
      from: from.toISOString(),
      to: to.toISOString(),
      confidence,
      candidate: sideOf(version, candRole, candRows, nCand, candValue, candLat),
      production: sideOf(prodVersion, 'production', prodRows, nProd, prodValue, prodLat),
      difference: stat?.difference ?? null,
      ciLow: stat?.ciLow ?? null,
      ciHigh: stat?.ciHigh ?? null,
      pValue: stat?.pValue ?? null,
      method: stat?.method ?? null,
      verdict,
      moreNeeded,
      errorRateDifference: errTest?.difference ?? null,
      errorRatePValue: errTest?.pValue ?? null,
      summary,
    };
  }

  private async model(name: string) {
    const m = await this.registry.findModel(name);
    if (!m) throw new AppError('NOT_FOUND', `Model "${name}" not found`);
    return m;
  }
}

/** A report's range: the query's, 24 hours back from `to` by default (at most 31 days). */
function rangeOf(q: { from?: string; to?: string }) {
  const to = q.to ?? new Date().toISOString();
  return timeRange({ from: q.from ?? new Date(new Date(to).getTime() - DAY_MS).toISOString(), to });
}

function labelledOf(rows: readonly ScoredRow[]): Labelled {
  return {
    classified: rows.flatMap((r) => (r.classified ? [r.classified] : [])),
    regressed: rows.flatMap((r) => (r.regressed ? [r.regressed] : [])),
  };
}

/** The version production served last in the range (it may have changed within it). */
function latestVersion(rows: readonly ScoredRow[]): number | null {
  let best: ScoredRow | null = null;
  for (const r of rows) if (!best || r.at > best.at) best = r;
  return best?.version ?? null;
}

function latencyOf(rows: { count: number; errors: number; buckets: number[] }[]) {
  const buckets = rows.reduce<number[]>((acc, r) => r.buckets.map((b, i) => b + (acc[i] ?? 0)), []);
  return {
    requests: rows.reduce((a, r) => a + r.count, 0),
    errors: rows.reduce((a, r) => a + r.errors, 0),
    p50Ms: quantileMs(buckets, 0.5),
    p99Ms: quantileMs(buckets, 0.99),
  };
}
