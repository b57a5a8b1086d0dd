import { Gauge, collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * What every Modelyard process exports besides its own metrics: prom-client's default process and Node.js
 * metrics under their standard names (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_eventloop_lag_seconds`, ...: the names stock dashboards and alert rules look for, so no prefix), and
 * `modelyard_info{component}` = 1, which says which component a target is without relying on the scrape job's
 * name (the shipped alert rules find a missing worker by it: deploy/prometheus).
 */
export function registerProcessMetrics(registry: Registry, component: 'api' | 'worker'): void {
  collectDefaultMetrics({ register: registry });
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
