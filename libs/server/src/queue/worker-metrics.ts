import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QUEUES } from '@modelyard/contracts';
import { JobProducer } from './job-producer.js';

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
  readonly jobs: Counter<'job' | 'outcome'>;
  readonly duration: Histogram<'job'>;
  readonly stalled: Counter<'queue'>;
  readonly reconciled: Counter<'kind'>;

  constructor(producer: JobProducer) {
    collectDefaultMetrics({ register: this.registry });
    this.jobs = new Counter({
      name: 'modelyard_worker_jobs_total',
      help: 'Jobs this worker ran, by job name and outcome (completed, retried, failed)',
      labelNames: ['job', 'outcome'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'modelyard_worker_job_duration_seconds',
      help: 'Time a job ran on this worker, by job name',
      labelNames: ['job'],
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
