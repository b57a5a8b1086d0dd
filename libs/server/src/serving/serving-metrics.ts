import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
  readonly requests: Histogram<'model' | 'version' | 'route' | 'format' | 'status' | 'role'>;
  readonly inference: Histogram<'model' | 'version'>;
  readonly inFlight: Gauge;
  /** Prediction requests in flight, read into the gauge at scrape time (a gauge update hashes labels). */
  inFlightNow = 0;
  readonly modelLoad: Gauge<'model' | 'version'>;
  readonly errors: Counter<'code' | 'format'>;
  readonly timeouts: Counter<'model'>;
  /** Label sets resolved once: prom-client validates and hashes labels on every observe otherwise. */
  private readonly children = new Map<string, { observe(v: number): void }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'modelyard_process_' });
    this.requests = new Histogram({
      name: 'modelyard_request_duration_seconds', help: 'Prediction requests, end to end inside the api',
      labelNames: ['model', 'version', 'route', 'format', 'status', 'role'], buckets: LATENCY_BUCKETS, registers: [this.registry],
    });
    this.inference = new Histogram({
      name: 'modelyard_inference_duration_seconds', help: 'onnxruntime session.run only',
      labelNames: ['model', 'version'], buckets: LATENCY_BUCKETS, registers: [this.registry],
    });
    this.inFlight = new Gauge({
      name: 'modelyard_requests_in_flight', help: 'Prediction requests being processed', registers: [this.registry],
      collect: () => this.inFlight.set(this.inFlightNow),
    });
    this.modelLoad = new Gauge({ name: 'modelyard_model_load_seconds', help: 'Time to load and warm a version', labelNames: ['model', 'version'], registers: [this.registry] });
    this.errors = new Counter({ name: 'modelyard_prediction_errors_total', help: 'Prediction requests that failed, by error code', labelNames: ['code', 'format'], registers: [this.registry] });
    this.timeouts = new Counter({ name: 'modelyard_prediction_timeouts_total', help: 'Predictions past their time budget', labelNames: ['model'], registers: [this.registry] });
  }

  observeInference(model: string, version: number, seconds: number) {
    const k = `i\u0000${model}\u0000${version}`;
    let c = this.children.get(k);
    if (!c) this.children.set(k, (c = this.inference.labels({ model, version: String(version) })));
    c.observe(seconds);
  }

  observeRequest(l: PredictionLabels, route: string, status: number, seconds: number) {
    const k = `r\u0000${l.model}\u0000${l.version}\u0000${route}\u0000${l.format}\u0000${status}\u0000${l.role}`;
    let c = this.children.get(k);
    if (!c) this.children.set(k, (c = this.requests.labels({ ...l, route, status: String(status) })));
    c.observe(seconds);
  }
}
