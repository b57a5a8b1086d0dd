import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JobPayloadParsed } from '@modelyard/contracts';
import { RegistryRepository } from '../registry/registry.repository.js';
import { WebhooksRepository } from '../webhooks/webhooks.repository.js';
import { LOGGER } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { JobProducer } from '../queue/job-producer.js';
import { WorkerMetrics } from '../queue/worker-metrics.js';
import { JobsRepository } from './jobs.repository.js';
import { SchedulesService } from './schedules.service.js';

/** BullMQ states in which a job will still run (active ones hand back to waiting if their worker dies). */
const LIVE_STATES = ['active', 'wait', 'delayed', 'prioritized', 'waiting-children'] as const;

/**
 * Work must be seen missing from the queue twice, this far apart, before it is queued again: between a row's
 * insert and its enqueue (or a chunk's end and the next step's enqueue) the queue holds nothing for a moment.
 */
export const RECONCILE_GRACE_MS = 10_000;

export interface ReconcileResult {
  requeuedJobs: string[];
  requeuedValidations: string[];
  requeuedDeliveries: string[];
  rearmedSchedules: string[];
  suspects: number;
}

/**
 * Postgres is the source of truth for work; Redis only carries it. After a Redis restart that lost data (or a
 * queue entry dropped for any other reason) jobs would stay `queued`/`running` and versions `pending` for
 * good. The reconciler (at worker start and every `RECONCILE_SECONDS`) compares the two and puts back what is
 * missing: async predictions and batch jobs (a batch job's `batch.score` re-splits its input and queues only
 * the chunks without a JobChunk row, so rows stay exact), validations of pending versions, pending webhook
 * deliveries, and the BullMQ job schedulers of unpaused schedules. Re-queued jobs get ids derived from when the work was first seen
 * missing (recorded in Redis for all workers), so two workers reconciling at once queue one job, not two.
 */
@Injectable()
export class ReconcilerService implements JobHandler<'jobs.reconcile'> {
  readonly job = 'jobs.reconcile' as const;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly registry: RegistryRepository,
    private readonly webhooks: WebhooksRepository,
    private readonly producer: JobProducer,
    private readonly redis: RedisService,
    private readonly schedules: SchedulesService,
    private readonly metrics: WorkerMetrics,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle(_payload: JobPayloadParsed<'jobs.reconcile'>, _ctx: JobContext): Promise<ReconcileResult> {
    return this.reconcile();
  }

  async reconcile(now = Date.now()): Promise<ReconcileResult> {
    const live = await this.liveIds();
    const jobs = await this.jobs.unfinished();
    const pending = await this.registry.pendingVersionIds();
    const deliveries = await this.webhooks.pendingDeliveryIds();
    const missing = [
      ...jobs
        .filter((j) => !live.has(j.id))
        .map((j) => ({ key: `job:${j.id}`, requeue: (since: string) => this.requeueJob(j, since) })),
      ...pending
        .filter((v) => !live.has(v.id))
        .map((v) => ({
          key: `version:${v.id}`,
          requeue: (since: string) =>
            this.producer.enqueue(
              'registry.validate',
              { versionId: v.id },
              { jobId: `validate-${v.id}-reconciled-${since}`, attempts: 3 },
            ),
        })),
      ...deliveries
        .filter((d) => !live.has(d.id))
        .map((d) => ({
          key: `delivery:${d.id}`,
          requeue: (since: string) =>
            this.producer.enqueue(
              'webhook.deliver',
              { deliveryId: d.id },
              {
                jobId: `webhook-${d.id}-reconciled-${since}`,
                attempts: 8,
                backoff: { type: 'exponential', delay: 2000 },
              },
            ),
        })),
    ];
    const due = await this.dueAfterGrace(
      missing.map((m) => m.key),
      now,
    );
    const result: ReconcileResult = {
      requeuedJobs: [],
      requeuedValidations: [],
      requeuedDeliveries: [],
      rearmedSchedules: [],
      suspects: missing.length - due.size,
    };
    const lists = {
      job: result.requeuedJobs,
      version: result.requeuedValidations,
      delivery: result.requeuedDeliveries,
    } as const;
    for (const m of missing) {
      const since = due.get(m.key);
      if (since === undefined) continue;
      await m.requeue(since);
      // Forgotten once put back: should it go missing again, it is noticed afresh (and gets a new queue id).
      await this.redis.client.hdel(this.missingKey(), m.key);
      const [kind, id] = m.key.split(':') as [keyof typeof lists, string];
      lists[kind].push(id);
    }
    result.rearmedSchedules = await this.schedules.rearmMissing();
    this.metrics.reconciled.inc({ kind: 'job' }, result.requeuedJobs.length);
    this.metrics.reconciled.inc({ kind: 'validation' }, result.requeuedValidations.length);
    this.metrics.reconciled.inc({ kind: 'schedule' }, result.rearmedSchedules.length);
    this.metrics.reconciled.inc({ kind: 'delivery' }, result.requeuedDeliveries.length);
    const put = result.requeuedJobs.length + result.requeuedValidations.length + result.requeuedDeliveries.length;
    if (put || result.rearmedSchedules.length) {
      this.log.warn(result, 'reconciler put back work the queue had lost');
    }
    return result;
  }

  /** The queue id comes from when the job was first seen missing (shared by all workers): one job, not one each. */
  private requeueJob(j: { id: string; type: string }, since: string) {
    const jobId = `reconciled-${j.id}-${since}`;
    return j.type === 'batch_score'
      ? this.producer.enqueue('batch.score', { jobId: j.id }, { jobId })
      : this.producer.enqueue('predict.async', { jobId: j.id }, { jobId, attempts: 3 });
  }

  /** Ids (Job rows, versions) that some live queue entry still carries in its payload. */
  private async liveIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const queue of ['predict', 'batch', 'registry', 'webhooks']) {
      const entries = await this.producer.queue(queue).getJobs([...LIVE_STATES], 0, -1);
      for (const e of entries) {
        const data = (e?.data ?? {}) as { jobId?: string; versionId?: string; deliveryId?: string };
        for (const id of [data.jobId, data.versionId, data.deliveryId]) if (id) ids.add(id);
      }
    }
    return ids;
  }

  private missingKey() {
    return this.redis.key('reconciler', 'missing-since');
  }

  /**
   * Records when each key was first seen missing (in Redis, so every worker shares the record) and returns the
   * keys missing for at least the grace period, with that time. Keys no longer missing are forgotten.
   */
  private async dueAfterGrace(keys: string[], now: number): Promise<Map<string, string>> {
    const hash = this.missingKey();
    const seen = await this.redis.client.hgetall(hash);
    const wanted = new Set(keys);
    const gone = Object.keys(seen).filter((k) => !wanted.has(k));
    if (gone.length) await this.redis.client.hdel(hash, ...gone);
    const fresh = keys.filter((k) => seen[k] === undefined);
    if (fresh.length) await this.redis.client.hset(hash, Object.fromEntries(fresh.map((k) => [k, String(now)])));
    return new Map(
      keys
        .filter((k) => seen[k] !== undefined && now - Number(seen[k]) >= RECONCILE_GRACE_MS)
        .map((k) => [k, seen[k]!]),
    );
  }
}
