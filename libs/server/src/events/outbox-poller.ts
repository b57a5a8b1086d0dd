import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { EventDispatcher } from './event-dispatcher.js';
import { OutboxRepository } from './outbox.repository.js';
import { LOGGER } from '../platform/tokens.js';

/** Younger events are still their writer's to dispatch (right after its commit); older ones are the backlog's. */
const WRITER_GRACE_MS = 2_000;

/**
 * The worker's pass over the outbox, every `everyMs`: it delivers what no writer delivered (a crash between the
 * commit and the dispatch, a consumer that failed, Redis down at the time). Passes never overlap, and a pass
 * that fails (Postgres down) is simply tried again at the next tick.
 */
@Injectable()
export class OutboxPoller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly dispatcher: EventDispatcher,
    private readonly outbox: OutboxRepository,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  start(everyMs: number) {
    this.timer = setInterval(() => void this.pass(), everyMs);
    this.timer.unref();
    void this.pass();
  }

  pass(): Promise<void> {
    this.running ??= this.dispatcher
      .dispatchBacklog(WRITER_GRACE_MS)
      .then(
        (n) => {
          if (n) this.log.info({ events: n }, 'delivered outbox events their writers had not');
          if (this.failing) this.log.info('the outbox pass works again');
          this.failing = false;
        },
        (err: unknown) => {
          if (!this.failing) this.log.warn({ err }, 'the outbox pass failed; retrying every tick');
          this.failing = true;
        },
      )
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Outbox lag for an operator: how many events wait, how old the oldest is, what this process delivered. */
  registerMetrics(registry: Registry) {
    const { outbox, dispatcher } = this;
    let backlog: Promise<{ pending: number; oldest: Date | null }> | null = null;
    // One query per scrape for both gauges; a scrape during a Postgres outage reports the last known values.
    const read = () =>
      (backlog ??= outbox.backlog().finally(() =>
        setImmediate(() => {
          backlog = null;
        }),
      ));
    new Gauge({
      name: 'modelyard_outbox_pending_events',
      help: 'Domain events committed and not yet delivered to their consumers',
      registers: [registry],
      async collect() {
        this.set((await read().catch(() => null))?.pending ?? 0);
      },
    });
    new Gauge({
      name: 'modelyard_outbox_lag_seconds',
      help: 'Age of the oldest domain event not yet delivered (0: none waiting)',
      registers: [registry],
      async collect() {
        const oldest = (await read().catch(() => null))?.oldest;
        this.set(oldest ? (Date.now() - oldest.getTime()) / 1000 : 0);
      },
    });
    for (const [outcome, help] of [
      ['dispatched', 'delivered to every consumer'],
      ['failed', 'failed and left for redelivery'],
    ] as const) {
      let reported = 0;
      new Counter({
        name: `modelyard_outbox_${outcome}_total`,
        help: `Domain events this worker ${help}`,
        registers: [registry],
        collect() {
          this.inc(dispatcher.counts[outcome] - reported);
          reported = dispatcher.counts[outcome];
        },
      });
    }
  }
}
