import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { eventDef, isDomainEventType, type DomainEventData, type DomainEventType } from '@modelyard/contracts';
import { OutboxRepository, type OutboxRow } from './outbox.repository.js';
import { followUpJob } from './follow-up-jobs.js';
import { EVENT_CONSUMERS, type DeliveredEvent, type EventConsumer } from './event-consumer.js';
import { LOGGER } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';
import { JobProducer } from '../queue/job-producer.js';

/** Published when a model serves something else; every api process reloads that model (ServingService). */
export const REGISTRY_CHANGED = 'registry-changed';

/** How long a dispatcher holds an event before another may assume it died. */
const LEASE_MS = 30_000;
/** Redelivery after a failed consumer: 2 s, 4 s, ... up to 5 min. */
const retryDelayMs = (attempts: number) => Math.min(2_000 * 2 ** attempts, 300_000);

export type ServingListener = (model: string) => Promise<unknown>;

/**
 * Hands each outbox event to its consumers: those provided under EVENT_CONSUMERS (the audit log, webhooks), the
 * job queues (follow-up-jobs.ts) and the serving state (`serving`: this process's listeners first, then the Redis
 * message for every other process). Every consumer is idempotent by the event's id (audit rows and webhook deliveries
 * are unique per event, jobs have fixed ids, a serving refresh is a re-read), so an event is simply delivered
 * again when anything fails or its dispatcher dies: at least once, never lost, never doubled.
 */
@Injectable()
export class EventDispatcher {
  private readonly servingListeners: ServingListener[] = [];
  /** This process's dispatch outcomes, for the worker's metrics. */
  readonly counts = { dispatched: 0, failed: 0 };

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(EVENT_CONSUMERS) private readonly consumers: EventConsumer[],
    private readonly jobs: JobProducer,
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** The process that made a change serves it before its response returns (a promote, then a prediction). */
  onServingChange(listener: ServingListener) {
    this.servingListeners.push(listener);
  }

  /** Delivers events just committed by this process. Never throws: what fails here the backlog pass retries. */
  async dispatch(seqs: readonly bigint[]): Promise<void> {
    for (const seq of seqs) {
      const row = await this.outbox.claimOne(seq, LEASE_MS).catch((err: unknown) => {
        this.log.warn({ err, seq: String(seq) }, 'could not claim an event; the backlog pass will deliver it');
        return null;
      });
      if (row) await this.deliver(row);
    }
  }

  /**
   * Delivers events recorded at least `minAgeMs` ago that nobody delivered: their writer crashed after the commit,
   * a consumer failed, or they were recorded inside a transaction this process did not open. Returns how many.
   */
  async dispatchBacklog(minAgeMs: number, batch = 100): Promise<number> {
    let done = 0;
    for (;;) {
      const seqs = await this.outbox.backlogSeqs(new Date(Date.now() - minAgeMs), batch);
      await this.dispatch(seqs);
      done += seqs.length;
      if (seqs.length < batch) return done;
    }
  }

  private async deliver(row: OutboxRow): Promise<void> {
    try {
      if (!isDomainEventType(row.type)) throw new Error(`unknown event type ${row.type}`);
      const event: DeliveredEvent = {
        id: row.id,
        type: row.type,
        actor: row.actor as DeliveredEvent['actor'],
        objectType: row.objectType,
        objectId: row.objectId,
        project: row.project,
        data: row.data as Record<string, unknown>,
        createdAt: row.createdAt,
      };
      for (const consumer of this.consumers) await consumer.consume(event);
      const job = followUpJob(event.type, event.objectId, event.data as DomainEventData<DomainEventType>);
      if (job) await this.jobs.enqueue(job.name, job.payload, job.opts);
      const model = event.data.model;
      if (eventDef(event.type).serving && typeof model === 'string') await this.servingChanged(model);
      await this.outbox.markDispatched(row.seq);
      this.counts.dispatched++;
    } catch (err) {
      this.counts.failed++;
      const retryAt = new Date(Date.now() + retryDelayMs(row.attempts));
      this.log.warn(
        { err, event: row.id, type: row.type, retryAt },
        'an event consumer failed; the event will be delivered again',
      );
      await this.outbox.release(row.seq, (err as Error).message ?? String(err), retryAt).catch(() => undefined);
    }
  }

  private async servingChanged(model: string) {
    await Promise.all(
      this.servingListeners.map((l) =>
        l(model).catch((err: unknown) => {
          this.log.error({ err, model }, 'a serving listener failed');
        }),
      ),
    );
    await this.redis.publish(REGISTRY_CHANGED, JSON.stringify({ model, at: Date.now() }));
  }
}
