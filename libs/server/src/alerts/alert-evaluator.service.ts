import { Inject, Injectable } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { JobPayloadParsed, TAlertRule, TDriftReport } from '@modelyard/contracts';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { DriftRepository } from '../drift/drift.repository.js';
import { RollupsRepository } from '../serving/rollups.repository.js';
import { quantileMs } from '../serving/rollups.service.js';
import { SYSTEM } from '../auth/principal.js';
import { DomainEvents } from '../events/domain-events.js';
import { asJson } from '../db/json.js';
import { AlertsRepository } from './alerts.repository.js';
import { storedRules, toAlert } from './alerts.service.js';
import { PerformanceService, metricOf } from '../feedback/performance.service.js';
import type { ScoredRow, VersionView } from '../feedback/performance.js';
import { LOWER_IS_BETTER } from '../feedback/performance-metrics.js';

/** One rule on one version, now. */
export interface Evaluation {
  ruleId: string;
  kind: TAlertRule['kind'];
  version: number;
  firing: boolean;
  silent: boolean;
  value: number | null;
  threshold: number | null;
  message: string;
  details: Record<string, unknown>;
}

type WindowSummary = { number: number; start: Date; rows: number; silentRows: number; report: unknown };
type RollupRow = { version: number; role: string; minute: Date; count: number; errors: number; buckets: number[] };

/** Drift rules against each version's latest window with enough rows (pure, for tests). */
export function evaluateDrift(rule: TAlertRule & { id: string }, windows: WindowSummary[]): Evaluation[] {
  if (rule.kind !== 'drift_share' && rule.kind !== 'feature_drift') return [];
  const latest = new Map<number, WindowSummary>();
  for (const w of [...windows].sort((a, b) => b.start.getTime() - a.start.getTime())) {
    if (!latest.has(w.number) && w.report && w.rows >= rule.minRows) latest.set(w.number, w);
  }
  return [...latest.values()].map((w) => {
    const report = w.report as TDriftReport;
    const base = {
      ruleId: rule.id,
      kind: rule.kind,
      version: w.number,
      silent: w.silentRows === w.rows,
      details: { windowStart: w.start.toISOString(), rows: w.rows },
    };
    if (rule.kind === 'drift_share') {
      const firing = report.driftShare > rule.above;
      return {
        ...base,
        firing,
        value: report.driftShare,
        threshold: rule.above,
        message: `drift share ${(report.driftShare * 100).toFixed(0)}% ${firing ? '>' : '<='} ${(rule.above * 100).toFixed(0)}% (${report.driftedFeatures} of ${report.evaluatedFeatures} features)`,
      };
    }
    const drifting = report.features.filter((f) => rule.features.includes(f.name) && f.status === 'drift');
    const names = drifting.map((f) => f.name);
    return {
      ...base,
      firing: drifting.length > 0,
      value: drifting.length,
      threshold: 0,
      message: drifting.length
        ? `feature${names.length > 1 ? 's' : ''} in drift: ${names.join(', ')}`
        : `no drift in ${rule.features.join(', ')}`,
      details: {
        ...base.details,
        features: drifting.map((f) => ({ name: f.name, psi: f.psi, js: f.js, pValue: f.pValue })),
      },
    };
  });
}

/** Latency and error-rate rules against each version's rollups over the rule's window (pure, for tests). */
export function evaluateRollups(
  rule: TAlertRule & { id: string },
  rows: RollupRow[],
  now: Date,
  latencySloMs: number,
): Evaluation[] {
  if (rule.kind !== 'latency_p99' && rule.kind !== 'error_rate') return [];
  const from = Math.floor((now.getTime() - rule.windowMinutes * 60_000) / 60_000) * 60_000;
  const byVersion = new Map<number, RollupRow[]>();
  for (const r of rows)
    if (r.minute.getTime() >= from) byVersion.set(r.version, [...(byVersion.get(r.version) ?? []), r]);
  const out: Evaluation[] = [];
  for (const [version, rs] of byVersion) {
    const count = rs.reduce((a, r) => a + r.count, 0);
    if (count < rule.minRequests) continue;
    const base = {
      ruleId: rule.id,
      kind: rule.kind,
      version,
      silent: rs.every((r) => r.role === 'silent'),
      details: { requests: count, windowMinutes: rule.windowMinutes },
    };
    if (rule.kind === 'error_rate') {
      const rate = rs.reduce((a, r) => a + r.errors, 0) / count;
      const firing = rate > rule.above;
      out.push({
        ...base,
        firing,
        value: rate,
        threshold: rule.above,
        message: `error rate ${(rate * 100).toFixed(1)}% ${firing ? '>' : '<='} ${(rule.above * 100).toFixed(1)}% over ${rule.windowMinutes} min`,
      });
    } else {
      const limit = rule.aboveMs ?? latencySloMs;
      const p99 = quantileMs(
        rs.reduce<number[]>((acc, r) => r.buckets.map((b, i) => b + (acc[i] ?? 0)), []),
        0.99,
      );
      if (p99 === null) continue;
      const firing = p99 > limit;
      out.push({
        ...base,
        firing,
        value: p99,
        threshold: limit,
        message: `p99 latency ${p99} ms ${firing ? '>' : '<='} ${limit} ms over ${rule.windowMinutes} min`,
      });
    }
  }
  return out;
}

/**
 * Performance rules against each version's labelled predictions of the rule's window (pure, for tests): a version
 * with at least `minLabels` labelled rows whose metric is worse than the threshold fires.
 */
export function evaluatePerformance(
  rule: TAlertRule & { id: string },
  rows: readonly ScoredRow[],
  views: ReadonlyMap<number, VersionView>,
  now: Date,
): Evaluation[] {
  if (rule.kind !== 'performance') return [];
  const from = now.getTime() - rule.windowMinutes * 60_000;
  const byVersion = new Map<number, ScoredRow[]>();
  for (const r of rows) if (r.at >= from) byVersion.set(r.version, [...(byVersion.get(r.version) ?? []), r]);
  const out: Evaluation[] = [];
  const lower = LOWER_IS_BETTER.has(rule.metric);
  for (const [version, rs] of byVersion) {
    const classified = rs.flatMap((r) => (r.classified ? [r.classified] : []));
    const regressed = rs.flatMap((r) => (r.regressed ? [r.regressed] : []));
    const labelled = classified.length + regressed.length;
    if (labelled < rule.minLabels) continue;
    const value = metricOf(rule.metric, { classified, regressed }, views.get(version)?.classes ?? []);
    if (value === null) continue;
    const firing = lower ? value > rule.threshold : value < rule.threshold;
    const coverage = labelled / rs.length;
    const op = firing ? (lower ? '>' : '<') : lower ? '<=' : '>=';
    out.push({
      ruleId: rule.id,
      kind: rule.kind,
      version,
      firing,
      silent: rs.every((r) => r.role === 'silent'),
      value,
      threshold: rule.threshold,
      message:
        `${rule.metric} ${value.toFixed(3)} ${op} ${rule.threshold} over ${rule.windowMinutes} min ` +
        `(${labelled} labelled of ${rs.length} predictions, coverage ${(coverage * 100).toFixed(0)}%)`,
      details: { metric: rule.metric, labelled, predictions: rs.length, coverage, windowMinutes: rule.windowMinutes },
    });
  }
  return out;
}

/**
 * alerts.evaluate: every model's rules against its recent drift windows and latency rollups. A rule that holds
 * for a version opens one alert (at most one firing per rule and version) and sends `alert.firing`; a firing
 * alert whose rule no longer holds, has no data any more, or was removed is resolved with `alert.resolved`.
 * Alerts of silent (shadow) versions are stored like any other but never delivered.
 */
@Injectable()
export class AlertEvaluatorService implements JobHandler<'alerts.evaluate'> {
  readonly job = 'alerts.evaluate' as const;

  constructor(
    private readonly repo: AlertsRepository,
    private readonly drift: DriftRepository,
    private readonly rollups: RollupsRepository,
    private readonly events: DomainEvents,
    private readonly performance: PerformanceService,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig & { worker?: { drift?: { windowMinutes: number } } },
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * `modelyard_alerts_firing{model,kind}`: the platform's own drift and performance alerts (silent versions'
   * excluded), read from Postgres at scrape time, so Prometheus can route them like any other alert
   * (deploy/prometheus/rules.yml). A scrape during a Postgres outage reports no series rather than failing.
   */
  registerMetrics(registry: Registry) {
    const repo = this.repo;
    new Gauge({
      name: 'modelyard_alerts_firing',
      help: 'Firing Modelyard alerts (drift_share, feature_drift, latency_p99, error_rate) per model and rule kind',
      labelNames: ['model', 'kind'],
      registers: [registry],
      async collect() {
        const counts = await repo.firingCounts().catch(() => []);
        this.reset();
        for (const c of counts) this.set({ model: c.modelName, kind: c.kind }, c._count._all);
      },
    });
  }

  async handle(_payload: JobPayloadParsed<'alerts.evaluate'>, _ctx: JobContext) {
    const now = new Date();
    const windowMinutes = this.cfg.worker?.drift?.windowMinutes ?? 60;
    let fired = 0;
    let resolved = 0;
    for (const set of await this.repo.allRuleSets()) {
      const model = set.model.name;
      const rules = storedRules(set.rules);
      // Keyed (and stored as Alert.openKey, unique across all models) by model, rule and version: rule ids are
      // derived from a rule's content, so two models with the same rule share them.
      const keyOf = (e: Evaluation) => `${set.modelId}:${e.ruleId}:${e.version}`;
      const evaluations = new Map<string, Evaluation>();
      if (rules.some((r) => r.kind === 'drift_share' || r.kind === 'feature_drift')) {
        // The current window and the one before it: early in a window, the last full one still speaks.
        const windows = await this.drift.recentWindows(model, new Date(now.getTime() - 2 * windowMinutes * 60_000));
        for (const rule of rules) for (const e of evaluateDrift(rule, windows)) evaluations.set(keyOf(e), e);
      }
      const rollupRules = rules.filter((r) => r.kind === 'latency_p99' || r.kind === 'error_rate');
      if (rollupRules.length) {
        const longest = Math.max(...rollupRules.map((r) => ('windowMinutes' in r ? r.windowMinutes : 5)));
        const rows = await this.rollups.range(model, new Date(now.getTime() - (longest + 1) * 60_000), now);
        for (const rule of rollupRules)
          for (const e of evaluateRollups(rule, rows, now, set.latencySloMs)) evaluations.set(keyOf(e), e);
      }
      const perfRules = rules.filter((r) => r.kind === 'performance');
      if (perfRules.length) {
        const longest = Math.max(...perfRules.map((r) => ('windowMinutes' in r ? r.windowMinutes : 60)));
        const { rows, views } = await this.performance.scored(
          set.modelId,
          model,
          new Date(now.getTime() - longest * 60_000),
          now,
        );
        for (const rule of perfRules)
          for (const e of evaluatePerformance(rule, rows, views, now)) evaluations.set(keyOf(e), e);
      }
      const open = await this.repo.firing(set.modelId);
      const openKeys = new Set(open.map((a) => a.openKey));
      for (const [key, e] of evaluations) {
        if (!e.firing || openKeys.has(key)) continue;
        // The alert row and its event (audit, and a webhook unless silent) commit together.
        const alert = await this.events.change(
          SYSTEM,
          () =>
            this.repo.open({
              modelId: set.modelId,
              modelName: model,
              version: e.version,
              ruleId: e.ruleId,
              kind: e.kind,
              state: 'firing',
              openKey: key,
              silent: e.silent,
              message: e.message,
              value: e.value,
              threshold: e.threshold,
              details: asJson(e.details),
              firedAt: now,
            }),
          (a) => (a ? { type: 'alert.firing', objectId: a.id, data: toAlert(a) } : []),
        );
        if (!alert) continue;
        fired++;
        this.log.warn(
          { model, version: e.version, rule: e.ruleId, message: e.message, silent: e.silent },
          'alert firing',
        );
      }
      for (const a of open) {
        const e = evaluations.get(a.openKey!);
        if (e?.firing) continue;
        const why = !rules.some((r) => r.id === a.ruleId) ? 'the rule was removed' : e ? e.message : 'no recent data';
        const { count } = await this.events.change(
          SYSTEM,
          () => this.repo.resolve(a.id, now),
          ({ count }) =>
            count
              ? {
                  type: 'alert.resolved',
                  objectId: a.id,
                  data: { ...toAlert({ ...a, state: 'resolved', openKey: null, resolvedAt: now }), reason: why },
                }
              : [],
        );
        if (!count) continue;
        resolved++;
        this.log.info({ model, version: a.version, rule: a.ruleId, why }, 'alert resolved');
      }
    }
    return { fired, resolved };
  }
}
