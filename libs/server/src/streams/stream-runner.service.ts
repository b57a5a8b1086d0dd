import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { TStreamStats } from '@modelyard/contracts';
import type { CommonConfig } from '@modelyard/config';
import { COMMON_CONFIG, LOGGER } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';
import { WorkerMetrics } from '../queue/worker-metrics.js';
import { PredictionService } from '../serving/prediction.service.js';
import { ServingService } from '../serving/serving.service.js';
import { StreamConsumer } from './stream-consumer.js';
import { StreamMetrics } from './stream-metrics.js';
import type { StreamPort } from './stream-port.js';
import { StreamScorer } from './stream-scorer.js';
import { STREAMS_CHANGED, streamKeys, streamOptions } from './stream-keys.js';
import { StreamsRepository } from './streams.repository.js';
import { STREAM_PORT } from './streams.service.js';

/** How the worker runs stream deployments (its STREAM_* keys). */
export interface StreamRunnerOptions {
  enabled: boolean;
  /** How often the worker re-reads the stream deployments (besides every `streams-changed` message). */
  syncMs: number;
}
export const STREAM_RUNNER_OPTIONS = Symbol('STREAM_RUNNER_OPTIONS');

/**
 * The worker's side of stream deployments: every worker process consumes every running deployment as one
 * consumer of its group (`<host>-<pid>`), so adding workers adds consumers (KEDA scales them on lag). It follows
 * the rows: a new or resumed deployment starts, a paused or deleted one stops after the batches in hand, a
 * changed one restarts with its new options.
 */
@Injectable()
export class StreamRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly consumers = new Map<string, { consumer: StreamConsumer; fingerprint: string }>();
  private readonly metrics: StreamMetrics;
  private readonly consumerName = `${hostname()}-${process.pid}`;
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly repo: StreamsRepository,
    private readonly serving: ServingService,
    private readonly prediction: PredictionService,
    private readonly redis: RedisService,
    @Inject(STREAM_PORT) private readonly port: StreamPort,
    @Inject(STREAM_RUNNER_OPTIONS) private readonly opts: StreamRunnerOptions,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    @Inject(LOGGER) private readonly log: Logger,
    workerMetrics: WorkerMetrics,
  ) {
    this.metrics = new StreamMetrics(workerMetrics.registry, () => this.stats());
  }

  async onApplicationBootstrap() {
    if (!this.opts.enabled) return;
    await this.redis.subscribe(STREAMS_CHANGED, () => this.sync());
    this.sync();
    this.timer = setInterval(() => this.sync(), this.opts.syncMs);
    this.timer.unref();
  }

  /**
   * Before the engine and Redis close (Nest destroys a provider before what it depends on): the batches in hand
   * are written and acknowledged, so a clean stop repeats nothing.
   */
  async onModuleDestroy() {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.syncing;
    await Promise.all([...this.consumers.values()].map((c) => c.consumer.stop()));
    this.consumers.clear();
    await this.port.close();
  }

  /** One pass at a time; a pass asked for while one runs runs once more after it. */
  sync() {
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = this.syncNow()
      .catch((err: unknown) => this.log.warn({ err }, 'could not read the stream deployments'))
      .finally(() => {
        this.syncing = null;
        if (this.again && !this.closed) {
          this.again = false;
          this.sync();
        }
      });
  }

  private async syncNow() {
    if (this.closed) return;
    const rows = (await this.repo.list()).filter((r) => !r.paused);
    const wanted = new Map(rows.map((r) => [r.id, r]));
    for (const [id, c] of this.consumers) {
      const row = wanted.get(id);
      if (row && fingerprint(row) === c.fingerprint) continue;
      this.consumers.delete(id);
      await c.consumer.stop();
      if (!row) this.metrics.forget(c.consumer.spec.label);
      this.log.info({ stream: c.consumer.spec.label, running: !!row }, 'stream consumer stopped');
    }
    for (const row of rows) {
      if (this.consumers.has(row.id) || this.closed) continue;
      const options = streamOptions(row.options);
      const keys = streamKeys(this.cfg.redis.prefix, row);
      const label = `${row.model.name}/${row.name}`;
      // The api created the group; a Redis that lost it (flushed, failed over) gets it back from the start.
      await this.port.ensureGroup(keys, 'earliest');
      const consumer = new StreamConsumer(
        { id: row.id, label, keys, options },
        this.port,
        new StreamScorer(this.serving, this.prediction, row.model.name, row.name, options),
        this.consumerName,
        this.metrics,
        this.log,
        () => {
          if (this.consumers.get(row.id)?.consumer !== consumer) return;
          this.consumers.delete(row.id);
          void consumer.stop();
        },
      );
      this.consumers.set(row.id, { consumer, fingerprint: fingerprint(row) });
      consumer.start();
      this.log.info({ stream: label, consumer: this.consumerName }, 'stream consumer started');
    }
  }

  private async stats(): Promise<Map<string, TStreamStats>> {
    const out = new Map<string, TStreamStats>();
    await Promise.all(
      [...this.consumers.values()].map(async ({ consumer }) => {
        const s = await this.port.stats(consumer.spec.keys).catch(() => null);
        if (s) out.set(consumer.spec.label, s);
      }),
    );
    return out;
  }
}

function fingerprint(row: {
  source: string;
  sink: string;
  deadLetter: string;
  options: unknown;
  model: { name: string };
}) {
  return JSON.stringify([row.model.name, row.source, row.sink, row.deadLetter, streamOptions(row.options)]);
}
