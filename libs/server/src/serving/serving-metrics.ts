import { Inject, Injectable, Optional } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG } from '../platform/tokens.js';
import { registerProcessMetrics } from '../platform/process-metrics.js';
import { LeanHistogram, type HistogramSeries } from '../platform/lean-histogram.js';
import type { ProtocolName } from './formats/protocols.js';

/** The `model` label of requests for a name the registry does not know (a typo, a deleted model, a probe). */
export const UNKNOWN_MODEL = '(unknown)';

/** Labels of a prediction request, filled in as the predict router learns them. */
export interface PredictionLabels {
  model: string;
  version: string;
  format: ProtocolName;
  role: string;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Prometheus metrics of one api process. Observations are in-memory counters (prom-client); nothing here
 * does I/O on the request path. Label values are bounded: model names and versions come from the registry
 * (a name in a URL that names no model is counted as `(unknown)`; a deleted model's series are dropped), routes
 * from the route table, status codes and error codes from closed sets; and each request histogram holds at most
 * METRICS_MAX_SERIES series (more label sets are counted under one `(overflow)` series).
 */
@Injectable()
export class ServingMetrics {
  readonly registry = new Registry();
  readonly requests: LeanHistogram;
  readonly inference: LeanHistogram;
  readonly inFlight: Gauge;
  /** Prediction requests in flight, read into the gauge at scrape time (a gauge update hashes labels). */
  inFlightNow = 0;
  readonly modelLoad: Gauge<'model' | 'version'>;
  readonly errors: Counter<'code' | 'format'>;
  readonly timeouts: Counter<'model'>;
  /** Runs dropped before they started: their caller's time budget had passed while they waited for a slot. */
  readonly runsDropped: Counter;
  /** Micro-batching: runs that served more than one request, and the requests they served. */
  readonly mergedRuns: Counter;
  readonly mergedRequests: Counter;
  /** API keys looked up in Postgres so far (read at scrape time; the api sets it to AuthService's count). */
  keyLookups: () => number = () => 0;
  /** Whether a name is a model this process knows (set by ServingService): others get the `(unknown)` label. */
  knownModel: (model: string) => boolean = () => true;
  /** Requests and runs come in long runs of one label set: the last series is reused after a field compare. */
  private lastRequest: (PredictionLabels & { route: string; status: number; series: HistogramSeries }) | null = null;
  private lastInference: { model: string; version: number; series: HistogramSeries } | null = null;

  constructor(@Optional() @Inject(COMMON_CONFIG) cfg?: CommonConfig) {
    const serving = (cfg as (CommonConfig & { serving?: { metricsMaxSeries?: number } }) | undefined)?.serving;
    const maxSeries = serving?.metricsMaxSeries ?? 2000;
    registerProcessMetrics(this.registry, 'api');
    this.requests = new LeanHistogram(
      'modelyard_request_duration_seconds',
      'Prediction requests, end to end inside the api',
      ['model', 'version', 'format', 'role', 'route', 'status'],
      LATENCY_BUCKETS,
      this.registry,
      maxSeries,
    );
    this.inference = new LeanHistogram(
      'modelyard_inference_duration_seconds',
      'onnxruntime session.run only',
      ['model', 'version'],
      LATENCY_BUCKETS,
      this.registry,
      maxSeries,
    );
    this.inFlight = new Gauge({
      name: 'modelyard_requests_in_flight',
      help: 'Prediction requests being processed',
      registers: [this.registry],
      collect: () => this.inFlight.set(this.inFlightNow),
    });
    this.modelLoad = new Gauge({
      name: 'modelyard_model_load_seconds',
      help: 'Time to load and warm a version',
      labelNames: ['model', 'version'],
      registers: [this.registry],
    });
    this.errors = new Counter({
      name: 'modelyard_prediction_errors_total',
      help: 'Prediction requests that failed, by error code',
      labelNames: ['code', 'format'],
      registers: [this.registry],
    });
    this.timeouts = new Counter({
      name: 'modelyard_prediction_timeouts_total',
      help: 'Predictions past their time budget',
      labelNames: ['model'],
      registers: [this.registry],
    });
    this.runsDropped = new Counter({
      name: 'modelyard_prediction_runs_dropped_total',
      registers: [this.registry],
      help: "Runs never started because their caller's time budget passed while they waited (MAX_INFLIGHT_RUNS)",
    });
    this.mergedRuns = new Counter({
      name: 'modelyard_micro_batch_runs_total',
      registers: [this.registry],
      help: 'onnxruntime runs that served more than one prediction request (micro-batching)',
    });
    this.mergedRequests = new Counter({
      name: 'modelyard_micro_batch_requests_total',
      registers: [this.registry],
      help: 'Prediction requests answered by a run shared with others (micro-batching)',
    });
    const lookups = () => this.keyLookups();
    new Counter({
      name: 'modelyard_api_key_lookups_total',
      registers: [this.registry],
      help: 'API keys looked up in Postgres: tokens refused by their shape, their prefix or a cache cost none',
      collect() {
        this.reset();
        this.inc(lookups());
      },
    });
  }

  observeMergedRun(requests: number) {
    this.mergedRuns.inc();
    this.mergedRequests.inc(requests);
  }

  observeInference(model: string, version: number, seconds: number) {
    let m = this.lastInference;
    if (!m || m.model !== model || m.version !== version)
      this.lastInference = m = { model, version, series: this.inference.series([model, String(version)]) };
    m.series.observe(seconds);
  }

  observeRequest(l: PredictionLabels, route: string, status: number, seconds: number) {
    let m = this.lastRequest;
    if (
      !m ||
      m.model !== l.model ||
      m.version !== l.version ||
      m.route !== route ||
      m.format !== l.format ||
      m.status !== status ||
      m.role !== l.role
    ) {
      // Only when the label set changes: whether the name is a model is asked once per run of like requests.
      const model = this.knownModel(l.model) ? l.model : UNKNOWN_MODEL;
      const series = this.requests.series([model, l.version, l.format, l.role, route, String(status)]);
      this.lastRequest = m = { ...l, route, status, series };
    }
    m.series.observe(seconds);
  }

  /** A model was deleted: its series go (a name reused later starts from zero, like a new model). */
  forgetModel(model: string) {
    this.requests.remove('model', model);
    this.inference.remove('model', model);
    this.lastRequest = null;
    this.lastInference = null;
    this.timeouts.remove({ model });
    void this.modelLoad.get().then((g) => {
      for (const v of g.values) {
        if (v.labels.model === model) this.modelLoad.remove({ model, version: String(v.labels.version) });
      }
    });
  }
}
