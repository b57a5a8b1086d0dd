import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Queue, type JobsOptions } from 'bullmq';
import { JOBS, type JobName, type JobPayload } from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';

/** BullMQ key prefix: under the install's Redis prefix so tests and installs sharing a Redis never collide. */
export const bullPrefix = (cfg: CommonConfig) => `${cfg.redis.prefix}:bull`;

/** Retries with backoff unless a job says otherwise; finished jobs are trimmed so Redis does not grow forever. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** The only way to enqueue: the name must be declared in JOBS and the payload must match its schema. */
@Injectable()
export class JobProducer implements OnModuleDestroy {
  private readonly queues = new Map<string, Queue>();

  constructor(@Inject(COMMON_CONFIG) private readonly cfg: CommonConfig, private readonly redis: RedisService) {}

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis.client, prefix: bullPrefix(this.cfg), defaultJobOptions: DEFAULT_JOB_OPTIONS });
      this.queues.set(name, q);
    }
    return q;
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts: JobsOptions = {}) {
    const def = JOBS[name];
    const data = def.payload.parse(payload);
    return this.queue(def.queue).add(name, data, opts);
  }

  /** Cron-like repeating job; idempotent by scheduler id, so every process may call it at boot. */
  async schedule<N extends JobName>(id: string, name: N, payload: JobPayload<N>, everyMs: number) {
    const def = JOBS[name];
    return this.queue(def.queue).upsertJobScheduler(id, { every: everyMs }, { name, data: def.payload.parse(payload) });
  }

  async onModuleDestroy() {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }
}
