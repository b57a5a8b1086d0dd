import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JOBS, QUEUES, type JobName } from '@modelyard/contracts';
import { JobProducer } from './job-producer.js';
import { registerProcessMetrics } from '../platform/process-metrics.js';

/** BullMQ states an operator watches: backlog (wait, prioritized, delayed), work in hand, and failures kept. */
const QUEUE_STATES = ['wait', 'prioritized', 'delayed', 'active', 'waiting-children', 'failed'] as const;

const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];

/**
 * Prometheus metrics of one worker process: jobs by name and outcome with their durations, stalls (a worker
 * died holding a job), what the reconciler put back, and every queue's depth by state, read from Redis at
 * scrape time. Served on WORKER_METRICS_PORT (`apps/worker/src/metrics-server.ts`).
 */
@Injectable()
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'queue' | 'job' | 'outcome'>;
  readonly duration: Histogram<'queue' | 'job'>;
  readonly stalled: Counter<'queue'>;
  readonly reconciled: Counter<'kind'>;

  constructor(producer: JobProducer) {
    registerProcessMetrics(this.registry, 'worker');
    this.jobs = new Counter({
      name: 'modelyard_worker_jobs_total',
      help: 'Jobs this worker ran, by queue, job name and outcome (completed, retried, failed: no attempt left)',
      labelNames: ['queue', 'job', 'outcome'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'modelyard_worker_job_duration_seconds',
      help: 'Time a job ran on this worker, by queue and job name',
      labelNames: ['queue', 'job'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.stalled = new Counter({
      name: 'modelyard_worker_stalled_jobs_total',
      help: 'Jobs whose worker stopped renewing their lock (a crash), handed back to the queue',
      labelNames: ['queue'],
      registers: [this.registry],
    });
    this.reconciled = new Counter({
      name: 'modelyard_reconciler_requeued_total',
      help: 'Work Postgres had and the queues lost, put back by the reconciler',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    // Every series starts at 0, so rate() and increase() see the first job and the first failure, and alert rules
    // and dashboards find their series on a worker that has not run or lost anything yet.
    for (const [job, def] of Object.entries(JOBS) as [JobName, (typeof JOBS)[JobName]][]) {
      for (const outcome of ['completed', 'retried', 'failed']) this.jobs.inc({ queue: def.queue, job, outcome }, 0);
    }
    for (const queue of QUEUES) this.stalled.inc({ queue }, 0);
    new Gauge({
      name: 'modelyard_queue_jobs',
      help: 'Jobs in each queue by BullMQ state (read from Redis at scrape time)',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const queue of QUEUES) {
          const counts = await producer.queue(queue).getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
        }
      },
    });
  }
}
