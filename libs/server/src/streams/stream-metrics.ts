import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TStreamStats } from '@modelyard/contracts';

/** End-to-end latency buckets (seconds): from the record's id time (its XADD) to its result's write. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Prometheus metrics of stream deployments, in the worker's registry (`WorkerMetrics`, served on
 * WORKER_METRICS_PORT). Labelled `stream="<model>/<name>"`. Lag, pending and dead letters are the stream's, read
 * from Redis at scrape time by every worker that runs it (the same value from each: aggregate with max()); the
 * counters are this worker's share.
 */
export class StreamMetrics {
  readonly records: Counter<'stream' | 'outcome'>;
  readonly redelivered: Counter<'stream'>;
  readonly errors: Counter<'stream'>;
  readonly inFlight: Gauge<'stream'>;
  readonly latency: Histogram<'stream'>;

  constructor(registry: Registry, stats: () => Promise<Map<string, TStreamStats>>) {
    this.records = new Counter({
      name: 'modelyard_stream_records_total',
      help: 'Stream records this worker finished, by outcome: scored (a result written) or dead_lettered',
      labelNames: ['stream', 'outcome'],
      registers: [registry],
    });
    this.redelivered = new Counter({
      name: 'modelyard_stream_redelivered_total',
      help: 'Stream records this worker claimed from a consumer that held them too long (XAUTOCLAIM)',
      labelNames: ['stream'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'modelyard_stream_errors_total',
      help: 'Batches of stream records that failed and were left pending for another try',
      labelNames: ['stream'],
      registers: [registry],
    });
    this.inFlight = new Gauge({
      name: 'modelyard_stream_in_flight',
      help: 'Stream records this worker has read and not yet acknowledged',
      labelNames: ['stream'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'modelyard_stream_latency_seconds',
      help: 'From a record entering the source (its id) to its result written to the sink',
      labelNames: ['stream'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    const gauge = (name: string, help: string, pick: (s: TStreamStats) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['stream'],
        registers: [registry],
        async collect() {
          this.reset();
          for (const [stream, s] of await stats()) {
            const v = pick(s);
            if (v !== null) this.set({ stream }, v);
          }
        },
      });
    gauge('modelyard_stream_lag', 'Records in the source not yet handed to the consumer group', (s) => s.lag);
    gauge('modelyard_stream_pending', 'Records handed to a consumer and not yet acknowledged', (s) => s.pending);
    gauge('modelyard_stream_dead_letters', 'Records in the dead-letter stream', (s) => s.deadLetterLength);
    gauge('modelyard_stream_sink_length', 'Records in the sink stream', (s) => s.sinkLength);
  }

  forget(stream: string) {
    for (const outcome of ['scored', 'dead_lettered']) this.records.remove({ stream, outcome });
    this.redelivered.remove({ stream });
    this.errors.remove({ stream });
    this.inFlight.remove({ stream });
    this.latency.remove({ stream });
  }
}
