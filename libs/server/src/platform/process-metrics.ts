import { Gauge, collectDefaultMetrics, type Registry } from 'prom-client';
import { LeanHistogram } from './lean-histogram.js';

/**
 * What every Modelyard process exports besides its own metrics: prom-client's default process and Node.js
 * metrics under their standard names (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_eventloop_lag_seconds`, ...: the names stock dashboards and alert rules look for, so no prefix), the
 * event loop's delay as a histogram (`modelyard_eventloop_delay_seconds`, see watchEventLoop), and
 * `modelyard_info{component}` = 1, which says which component a target is without relying on the scrape job's
 * name (the shipped alert rules find a missing worker by it: deploy/prometheus).
 */
export function registerProcessMetrics(registry: Registry, component: 'api' | 'worker'): void {
  collectDefaultMetrics({ register: registry });
  watchEventLoop(registry);
  const info = new Gauge({
    name: 'modelyard_info',
    help: 'Always 1: the Modelyard component this target is (api, worker)',
    labelNames: ['component'],
    registers: [registry],
    // Several api processes summed by the cluster primary still report 1.
    aggregator: 'max',
  });
  info.set({ component }, 1);
}

/** From 1 ms (a loop doing its work) to seconds (a stall every caller in flight waits out). */
const LOOP_DELAY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const LOOP_TICK_MS = 10;

/**
 * How late a 10 ms timer fires, every tick, as a Prometheus histogram: a stall of 300 ms is one observation in
 * the 0.5 bucket, so `histogram_quantile` over a window and the upper buckets' rates show tail stalls that
 * prom-client's `nodejs_eventloop_lag_p99_seconds` (a summary of the last few seconds per process, which a
 * cluster cannot add up) hides. Histograms of several api processes add up like the request histograms. One
 * callback of a few microseconds per tick, unref'd (it never keeps a process alive).
 */
function watchEventLoop(registry: Registry) {
  const series = new LeanHistogram(
    'modelyard_eventloop_delay_seconds',
    'How late a 10 ms timer fired: time the event loop was busy with other work past its due time',
    [],
    LOOP_DELAY_BUCKETS,
    registry,
  ).series([]);
  let due = performance.now() + LOOP_TICK_MS;
  setInterval(() => {
    const now = performance.now();
    series.observe(Math.max(0, now - due) / 1000);
    due = now + LOOP_TICK_MS;
  }, LOOP_TICK_MS).unref();
}
