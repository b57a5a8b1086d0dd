import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from 'pino';

/**
 * API_PROCESSES api processes on one port (node:cluster): one crash leaves the others answering, and one box
 * uses all its cores. The primary runs no app: it forks the processes, restarts one that dies (with backoff),
 * passes SIGTERM/SIGINT on and waits for their clean shutdown, and sums every process's metrics for a scrape.
 */
const METRICS_REQUEST = 'modelyard:cluster-metrics-request';
const METRICS_RESPONSE = 'modelyard:cluster-metrics-response';
const RESTART_BACKOFF_MS = { first: 500, max: 30_000, healthyAfter: 60_000 };
const SCRAPE_TIMEOUT_MS = 6_000;

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsResponse {
  type: typeof METRICS_RESPONSE;
  id: number;
  text?: string;
  error?: string;
}

export function runPrimary(processes: number, logger: Logger, shutdownGraceMs: number): void {
  const aggregator = new AggregatorRegistry();
  const startedAt = new Map<Worker, number>();
  let backoff = RESTART_BACKOFF_MS.first;
  let stopping = false;

  const fork = () => startedAt.set(cluster.fork(), Date.now());
  cluster.on('exit', (worker, code, signal) => {
    const ranMs = Date.now() - (startedAt.get(worker) ?? Date.now());
    startedAt.delete(worker);
    if (stopping) {
      if (startedAt.size === 0) process.exit(0);
      return;
    }
    if (ranMs > RESTART_BACKOFF_MS.healthyAfter) backoff = RESTART_BACKOFF_MS.first;
    logger.error({ pid: worker.process.pid, code, signal, restartInMs: backoff }, 'api process died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, backoff);
    backoff = Math.min(backoff * 2, RESTART_BACKOFF_MS.max);
  });
  cluster.on('message', (worker, message: MetricsRequest) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) =>
        worker.isConnected() && worker.send({ type: METRICS_RESPONSE, id: message.id, text } satisfies MetricsResponse),
      (err: Error) =>
        worker.isConnected() &&
        worker.send({ type: METRICS_RESPONSE, id: message.id, error: err.message } satisfies MetricsResponse),
    );
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, processes: startedAt.size }, 'stopping the api processes');
    for (const w of startedAt.keys()) w.process.kill(signal);
    if (startedAt.size === 0) process.exit(0);
    // Each process has SHUTDOWN_GRACE_MS of its own; past that and a margin, stop waiting.
    setTimeout(() => process.exit(1), shutdownGraceMs + 5_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < processes; i++) fork();
  logger.info({ processes }, 'api cluster started');
}

/** In an api process of a cluster: answers the primary's requests for this process's metrics; exits with the primary. */
export function joinCluster(registry: Registry): void {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries(registry);
  // A primary killed outright leaves its processes behind otherwise: they shut down cleanly instead.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

let nextRequest = 0;

/** Every api process's metrics, summed (Prometheus text), through the primary. */
export function clusterMetricsText(): Promise<string> {
  const id = nextRequest++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error('the other api processes did not send their metrics in time')),
      SCRAPE_TIMEOUT_MS,
    );
    const onMessage = (m: MetricsResponse) => {
      if (m?.type === METRICS_RESPONSE && m.id === id) done(m.error ? new Error(m.error) : null, m.text);
    };
    function done(err: Error | null, text?: string) {
      clearTimeout(timer);
      process.off('message', onMessage);
      if (err) reject(err);
      else resolve(text ?? '');
    }
    process.on('message', onMessage);
    process.send!({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
  });
}

export const inCluster = () => cluster.isWorker;
