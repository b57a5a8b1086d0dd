import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { LeanHistogram, type HistogramSeries } from './lean-histogram.js';

/** Labels a prediction request carries from its controller to the response hook. */
export interface PredictionLabels {
  model: string;
  version: string;
  format: 'modelyard' | 'oip-v2' | 'tfs' | 'mlflow';
  role: string;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Prometheus metrics of one api process. Observations are in-memory counters (prom-client); nothing here
 * does I/O on the request path. Label values are bounded: model names and versions come from the registry,
 * routes from the route table, status codes and error codes from closed sets.
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
  /** Predictions the api's fast lane answered, by format; the rest went through the framework (a client sending chunked bodies, say). */
  readonly fastLane: Counter<'format'>;
  readonly fastLaneNow: Record<PredictionLabels['format'], number> = { modelyard: 0, 'oip-v2': 0, tfs: 0, mlflow: 0 };
  /** Requests and runs come in long runs of one label set: the last series is reused after a field compare. */
  private lastRequest: (PredictionLabels & { route: string; status: number; series: HistogramSeries }) | null = null;
  private lastInference: { model: string; version: number; series: HistogramSeries } | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'modelyard_process_' });
    this.requests = new LeanHistogram('modelyard_request_duration_seconds', 'Prediction requests, end to end inside the api',
      ['model', 'version', 'format', 'role', 'route', 'status'], LATENCY_BUCKETS, this.registry);
    this.inference = new LeanHistogram('modelyard_inference_duration_seconds', 'onnxruntime session.run only', ['model', 'version'], LATENCY_BUCKETS, this.registry);
    this.inFlight = new Gauge({
      name: 'modelyard_requests_in_flight', help: 'Prediction requests being processed', registers: [this.registry],
      collect: () => this.inFlight.set(this.inFlightNow),
    });
    this.modelLoad = new Gauge({ name: 'modelyard_model_load_seconds', help: 'Time to load and warm a version', labelNames: ['model', 'version'], registers: [this.registry] });
    this.errors = new Counter({ name: 'modelyard_prediction_errors_total', help: 'Prediction requests that failed, by error code', labelNames: ['code', 'format'], registers: [this.registry] });
    this.timeouts = new Counter({ name: 'modelyard_prediction_timeouts_total', help: 'Predictions past their time budget', labelNames: ['model'], registers: [this.registry] });
    const lane = this.fastLaneNow;
    this.fastLane = new Counter({
      name: 'modelyard_fast_lane_requests_total', help: 'Predictions answered by the fast lane in front of the framework', labelNames: ['format'], registers: [this.registry],
      collect() {
        this.reset();
        for (const [format, n] of Object.entries(lane)) if (n) this.inc({ format }, n);
      },
    });
  }

  observeInference(model: string, version: number, seconds: number) {
    let m = this.lastInference;
    if (!m || m.model !== model || m.version !== version) this.lastInference = m = { model, version, series: this.inference.series([model, String(version)]) };
    m.series.observe(seconds);
  }

  observeRequest(l: PredictionLabels, route: string, status: number, seconds: number) {
    let m = this.lastRequest;
    if (!m || m.model !== l.model || m.version !== l.version || m.route !== route || m.format !== l.format || m.status !== status || m.role !== l.role) {
      this.lastRequest = m = { ...l, route, status, series: this.requests.series([l.model, l.version, l.format, l.role, route, String(status)]) };
    }
    m.series.observe(seconds);
  }
}
