import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { JOBS, QUEUES, type JobName, type JobPayloadParsed } from '@modelyard/contracts';
import type { WorkerConfig } from '@modelyard/config';
import {
  AlertEvaluatorService,
  AppError,
  AuthService,
  bullPrefix,
  JOB_HANDLERS,
  JobProducer,
  LOGGER,
  OutboxPoller,
  RedisService,
  redisOptions,
  TRACE_KEY,
  tracer,
  tracing,
  WorkerMetrics,
  withLogContext,
  type JobHandler,
  type TraceCarrier,
} from '@modelyard/server';
import { buildRegistry } from './job-registry.js';
import { WORKER_CONFIG } from './tokens.js';
import { startMetricsServer } from './metrics-server.js';

const OUTBOX_PASS_MS = 1_000;

/** One BullMQ Worker per queue; each job's payload is parsed with its JOBS schema before its handler runs. */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly workers: Worker[] = [];
  private readonly registry: Map<JobName, JobHandler>;
  private heartbeat: NodeJS.Timeout | null = null;
  private metricsServer: Server | null = null;

  constructor(
    @Inject(JOB_HANDLERS) handlers: JobHandler[],
    @Inject(WORKER_CONFIG) private readonly cfg: WorkerConfig,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly producer: JobProducer,
    private readonly redis: RedisService,
    private readonly metrics: WorkerMetrics,
    private readonly auth: AuthService,
    private readonly outbox: OutboxPoller,
    alerts: AlertEvaluatorService,
  ) {
    this.registry = buildRegistry(handlers);
    outbox.registerMetrics(metrics.registry);
    alerts.registerMetrics(metrics.registry);
  }

  async onApplicationBootstrap() {
    for (const queue of QUEUES) {
      const worker = new Worker(queue, (job) => this.process(job), {
        // Its own blocking connection, which BullMQ creates and closes itself (see redisOptions).
        connection: redisOptions(this.cfg.redis.url),
        prefix: bullPrefix(this.cfg),
        concurrency: this.cfg.worker.concurrency,
        // A killed worker's jobs go back to the queue once its lock lapses; the stall check runs as often.
        lockDuration: this.cfg.worker.lockMs,
        stalledInterval: this.cfg.worker.lockMs,
      });
      worker.on('failed', (job, err) =>
        this.log.warn({ jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, err: err.message }, 'job failed'),
      );
      worker.on('error', (err) => this.log.error({ err, queue }, 'worker error'));
      worker.on('stalled', (jobId) => {
        this.metrics.stalled.inc({ queue });
        this.log.warn({ jobId, queue }, 'job stalled (its worker stopped renewing the lock); handed back to the queue');
      });
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    await this.producer.schedule('maintenance-hourly', 'maintenance.cleanup', { reason: 'schedule' }, 3600_000);
    await this.producer.schedule('registry-sweep', 'registry.sweep', {}, 60_000);
    await this.producer.schedule('prediction-log-ingest', 'predictions.ingest', {}, 5000);
    await this.producer.schedule(
      'deployments-check',
      'deployments.check',
      {},
      this.cfg.worker.deploymentCheckSeconds * 1000,
    );
    await this.producer.schedule('drift-fold', 'drift.fold', {}, this.cfg.worker.drift.foldSeconds * 1000);
    await this.producer.schedule('alerts-evaluate', 'alerts.evaluate', {}, this.cfg.worker.drift.alertSeconds * 1000);
    // Postgres against the queues: at start (the scheduler's first run is now) and every RECONCILE_SECONDS.
    await this.producer.schedule('jobs-reconcile', 'jobs.reconcile', {}, this.cfg.worker.reconcileSeconds * 1000);
    // Domain events their writers did not deliver (see events/outbox-poller.ts).
    this.outbox.start(OUTBOX_PASS_MS);
    const { metricsPort, metricsHost } = this.cfg.worker;
    if (metricsPort > 0)
      this.metricsServer = await startMetricsServer(
        { port: metricsPort, host: metricsHost },
        this.metrics,
        this.auth,
        this.log,
      );
    this.log.info({ queues: QUEUES, concurrency: this.cfg.worker.concurrency }, 'worker ready');
    const file = this.cfg.worker.heartbeatFile;
    if (file) {
      const beat = () =>
        void this.redis
          .ping()
          .then(() => writeFile(file, String(Date.now())))
          .catch((err: unknown) => this.log.warn({ err }, 'heartbeat skipped'));
      beat();
      this.heartbeat = setInterval(beat, 10_000);
      this.heartbeat.unref();
    }
  }

  /** Runs the job with its id and name on every line logged while it runs (log-context.ts), traced when on. */
  process(job: Job): Promise<unknown> {
    return withLogContext({ jobId: String(job.id), job: job.name }, null, () =>
      tracing.on ? this.traced(job) : this.run(job),
    );
  }

  /**
   * The job in a consumer span, which continues the trace its producer put in the data (an api request, or the
   * job that queued it) and is the active context for everything the handler does (storage, outbound calls, jobs
   * it queues). A scheduled job without a producer's trace (ingest every 5 s, the reconciler) gets none: it would
   * be a trace of its own every few seconds, and the worker's metrics already count it.
   */
  private traced(job: Job): Promise<unknown> {
    const carrier = carrierIn(job.data);
    if (!carrier && job.repeatJobKey) return this.run(job);
    const t = tracer();
    const span = t.consumerSpan(`process ${job.name}`, carrier, {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': job.queueName,
      'messaging.message.id': String(job.id),
      'modelyard.job': job.name,
      'modelyard.job_attempt': job.attemptsMade + 1,
    });
    return t
      .run(t.contextOf(span), () => this.run(job))
      .then(
        (r) => {
          span.end();
          return r;
        },
        (e: unknown) => {
          t.fail(span, e);
          span.end();
          throw e;
        },
      );
  }

  private async run(job: Job): Promise<unknown> {
    const name = job.name as JobName;
    const handler = this.registry.get(name);
    if (!handler) throw new UnrecoverableError(`Unknown job "${job.name}"`);
    const parsed = (JOBS[name].payload as z.ZodType).safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Invalid payload for ${name}: ${parsed.error.message}`);
    const queue = JOBS[name].queue;
    const stop = this.metrics.duration.startTimer({ queue, job: name });
    const maxAttempts = job.opts.attempts ?? 1;
    try {
      const result = await handler.handle(parsed.data as JobPayloadParsed<JobName>, {
        jobId: String(job.id),
        attempt: job.attemptsMade + 1,
        maxAttempts,
        updateProgress: (p) => job.updateProgress(p),
      });
      this.metrics.jobs.inc({ queue, job: name, outcome: 'completed' });
      return result;
    } catch (e) {
      // Bad input will not get better on retry; everything else (DB blip, storage timeout) may.
      const permanent = e instanceof AppError && e.status < 500;
      this.metrics.jobs.inc({
        queue,
        job: name,
        outcome: permanent || job.attemptsMade + 1 >= maxAttempts ? 'failed' : 'retried',
      });
      if (permanent) throw new UnrecoverableError(`${e.code}: ${e.message}`);
      throw e;
    } finally {
      stop();
    }
  }

  async onApplicationShutdown() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.metricsServer?.close();
    await this.outbox.stop();
    // close() lets running jobs finish (or hands them back to the queue as stalled if we are killed).
    await Promise.allSettled(this.workers.map((w) => w.close()));
    this.log.info('worker stopped');
  }
}

/** The W3C trace context a producer put beside the payload, when it looks like one (the propagator checks it). */
function carrierIn(data: unknown): TraceCarrier | undefined {
  const c = (data as Record<string, unknown> | null)?.[TRACE_KEY] as Partial<TraceCarrier> | undefined;
  if (typeof c?.traceparent !== 'string' || c.traceparent.length > 100) return undefined;
  return {
    traceparent: c.traceparent,
    ...(typeof c.tracestate === 'string' && { tracestate: c.tracestate.slice(0, 512) }),
  };
}
