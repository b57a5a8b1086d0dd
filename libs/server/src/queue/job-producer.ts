import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { Queue, type JobsOptions } from 'bullmq';
import { JOBS, type JobName, type JobPayload } from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import { unavailableDependency } from '../platform/outage.js';
import { RedisService } from '../platform/redis.service.js';
import { TRACE_KEY, traced, tracer, tracing, type TraceParent } from '../platform/tracing.js';

/** BullMQ key prefix: under the install's Redis prefix so tests and installs sharing a Redis never collide. */
export const bullPrefix = (cfg: CommonConfig) => `${cfg.redis.prefix}:bull`;

/** Retries with backoff unless a job says otherwise; finished jobs are trimmed so Redis does not grow forever. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Attempts at a job scheduler at boot, a second apart and then more (1 + 2 + ... + 7 s in all). */
const SCHEDULE_ATTEMPTS = 8;

/** The only way to enqueue: the name must be declared in JOBS and the payload must match its schema. */
@Injectable()
export class JobProducer implements OnModuleDestroy {
  private readonly queues = new Map<string, Queue>();

  constructor(
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.redis.client,
        prefix: bullPrefix(this.cfg),
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      });
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * `parent` is the trace the job continues when the caller has no ambient one (an api request); in the worker
   * the running job's span is the parent. The job's data then carries the W3C trace context under TRACE_KEY.
   */
  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts: JobsOptions = {}, parent?: TraceParent) {
    const def = JOBS[name];
    const data = def.payload.parse(payload);
    // BullMQ waits for a connection that is down (a queue's first use does, whatever the client's options): fail
    // fast instead, like every other Redis command of this process.
    if (this.redis.client.status !== 'ready') throw new Error(`Redis is not connected (${this.redis.client.status})`);
    if (!tracing.on) return this.queue(def.queue).add(name, data, opts);
    const attrs = {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': def.queue,
      'modelyard.job': name,
    };
    return traced(
      `send ${name}`,
      'producer',
      attrs,
      async (span) => {
        const job = await this.queue(def.queue).add(
          name,
          span ? { ...data, [TRACE_KEY]: tracer().carrierOf(span) } : data,
          opts,
        );
        if (job.id) span?.setAttribute('messaging.message.id', job.id);
        return job;
      },
      parent,
    );
  }

  /**
   * For work a Postgres row already records and the reconciler re-queues (jobs, validations): while Redis is
   * down the row is enough, so the caller's request succeeds and the work is queued once Redis is back.
   */
  async enqueueBacked<N extends JobName>(
    name: N,
    payload: JobPayload<N>,
    opts: JobsOptions = {},
    parent?: TraceParent,
  ): Promise<void> {
    try {
      await this.enqueue(name, payload, opts, parent);
    } catch (e) {
      if (!unavailableDependency(e)) throw e;
      this.log.warn(
        { job: name, payload, err: (e as Error).message },
        'Redis is down: the reconciler will queue this job once it is back',
      );
    }
  }

  /**
   * Cron-like repeating job; idempotent by scheduler id, so every process may call it at boot, and call it again:
   * a Redis that is slow to answer (a loaded machine, a failover) is retried for about half a minute instead of
   * ending the boot.
   */
  async schedule<N extends JobName>(id: string, name: N, payload: JobPayload<N>, everyMs: number) {
    const def = JOBS[name];
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.queue(def.queue).upsertJobScheduler(
          id,
          { every: everyMs },
          { name, data: def.payload.parse(payload) },
        );
      } catch (e) {
        if (attempt >= SCHEDULE_ATTEMPTS || unavailableDependency(e) !== 'queue') throw e;
        this.log.warn(
          { scheduler: id, attempt, err: (e as Error).message },
          'Redis did not take a job scheduler; retrying',
        );
        await new Promise((r) => setTimeout(r, attempt * 1000));
      }
    }
  }

  async onModuleDestroy() {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }
}
