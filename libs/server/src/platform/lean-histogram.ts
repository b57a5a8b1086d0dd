import type { Metric, Registry } from 'prom-client';

export const OVERFLOW = '(overflow)';

/** One label set's counts. `observe` is the whole per-request cost: a bucket search and three additions. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number) {
    if (!Number.isFinite(value)) return;
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram for the prediction hot path, exposed through a prom-client Registry like any of its
 * metrics (same text: `_bucket` with cumulative `le`, `_sum`, `_count`). prom-client's own Histogram validates
 * and hashes the label set on every observation, even through a `labels()` child: measured at a few
 * microseconds per request, a tenth of a prediction. Callers hold a series per label set instead.
 */
export class LeanHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly all = new Map<string, HistogramSeries>();
  /** Where label sets past `maxSeries` are counted: every label `(overflow)`, so a scrape stays bounded. */
  private overflow: HistogramSeries | null = null;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry,
    private readonly maxSeries = Infinity,
  ) {
    // A Registry reads only name, help, type, aggregator and get() from a metric: this class has them, without
    // prom-client's per-observation label bookkeeping (its Metric type also demands what the registry never calls).
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one label set (values in `labelNames` order), created on first use while under the cap. */
  series(values: readonly string[]): HistogramSeries {
    const key = values.join('\u0000');
    let s = this.all.get(key);
    if (!s) {
      if (this.all.size >= this.maxSeries) {
        const labels = Object.fromEntries(this.labelNames.map((n) => [n, OVERFLOW]));
        this.overflow ??= new HistogramSeries(labels, this.bounds);
        return this.overflow;
      }
      s = new HistogramSeries(Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] ?? ''])), this.bounds);
      this.all.set(key, s);
    }
    return s;
  }

  /** Drops every series whose `label` is `value` (a deleted model's). */
  remove(label: string, value: string) {
    for (const [k, s] of this.all) if (s.labels[label] === value) this.all.delete(k);
  }

  get size(): number {
    return this.all.size + (this.overflow ? 1 : 0);
  }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.overflow ? [...this.all.values(), this.overflow] : this.all.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset() {
    this.all.clear();
    this.overflow = null;
  }
}
