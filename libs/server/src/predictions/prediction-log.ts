import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { type Feeds, flatValues, type Outputs, type ServedVersion } from '../engine/index.js';
import type { Logger } from 'pino';
import { LOGGER } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';

/** One sampled request: its rows as {feature: value} and the outputs per row. */
export interface PredictionLogEntry {
  model: string;
  version: number;
  role: string;
  silent: boolean;
  at: string;
  features: Record<string, unknown>[];
  outputs: Record<string, unknown>[];
  latencyMs: number;
  /** Ground truth joins on these (issue 18); absent in entries queued by older api processes. */
  predictionId?: string;
  entityIds?: string[];
  callerGroups?: string[];
}

/**
 * Who asked, for joining labels later: the answer's X-Prediction-Id, the caller's entity ids (X-Entity-Id, one per
 * row) and the caller's group names. A request with entity ids is always logged: its caller said labels will come.
 */
export interface PredictionTrace {
  predictionId: string;
  entityIds: string[];
  callerGroups: string[];
}

/** Redis list the api appends to and the worker drains. Bounded: past this, the oldest entries are dropped. */
export const PREDICTION_LOG_LIST = 'prediction-log';
const MAX_QUEUED = 1_000_000;
const FLUSH_MS = 1000;
/** Entries kept in memory while Redis cannot take them; past this the oldest are dropped and counted. */
export const MAX_BUFFERED = 10_000;

/** Rebuilds rows from the typed feeds, so every request format logs the same shape. */
export function rowsOf(sv: ServedVersion, feeds: Feeds, outputs: Outputs) {
  const n = feeds[sv.signature.inputs[0]!.name]?.dims[0] ?? 0;
  const features: Record<string, unknown>[] = Array.from({ length: n }, () => ({}));
  for (const spec of sv.signature.inputs) {
    const t = feeds[spec.name];
    if (!t) continue;
    const vals = flatValues(t);
    const width = vals.length / Math.max(n, 1);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < width; c++) features[r]![spec.columns?.[c] ?? `${spec.name}_${c}`] = vals[r * width + c];
    }
  }
  const outs: Record<string, unknown>[] = Array.from({ length: n }, () => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    const vals = flatValues(t);
    const width = vals.length / Math.max(n, 1);
    for (let r = 0; r < n; r++) outs[r]![name] = width === 1 ? vals[r] : vals.slice(r * width, (r + 1) * width);
  }
  return { features, outputs: outs };
}

/**
 * Samples predictions for drift monitoring without touching the response: the decision is one random
 * number, a sampled entry is kept in memory and shipped to Redis once a second in one RPUSH. If Redis is
 * slow or down the entries stay buffered (at most MAX_BUFFERED, the oldest dropped and counted past that) and
 * go with the next flush; nothing is ever retried on the request path.
 */
@Injectable()
export class PredictionLogShipper implements OnModuleInit, OnModuleDestroy {
  private batch: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  dropped = 0;

  constructor(
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onModuleInit() {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  async onModuleDestroy() {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  maybeLog(
    rate: number,
    sv: ServedVersion,
    role: string,
    silent: boolean,
    feeds: Feeds,
    outputs: Outputs,
    latencyMs: number,
    trace?: PredictionTrace,
  ): boolean {
    if (!trace?.entityIds.length && (rate <= 0 || Math.random() >= rate)) return false;
    const rows = rowsOf(sv, feeds, outputs);
    const entry: PredictionLogEntry = {
      model: sv.model,
      version: sv.version,
      role,
      silent,
      at: new Date().toISOString(),
      ...rows,
      latencyMs,
      ...trace,
    };
    this.batch.push(JSON.stringify(entry));
    if (this.batch.length >= 1000 && !this.flushing) void this.flush();
    return true;
  }

  private flushing = false;

  async flush(): Promise<void> {
    if (!this.batch.length || this.flushing) return;
    this.flushing = true;
    const items = this.batch;
    this.batch = [];
    const key = this.redis.key(PREDICTION_LOG_LIST);
    try {
      await this.redis.client
        .multi()
        .rpush(key, ...items)
        .ltrim(key, -MAX_QUEUED, -1)
        .exec();
    } catch (err) {
      // Back in front of what came since, for the next flush; the oldest go first when over the bound.
      this.batch = items.concat(this.batch);
      const over = this.batch.length - MAX_BUFFERED;
      if (over > 0) {
        this.batch.splice(0, over);
        this.dropped += over;
      }
      this.log.warn(
        { err: (err as Error).message, buffered: this.batch.length, dropped: this.dropped },
        'prediction log kept in memory: Redis did not take it',
      );
    } finally {
      this.flushing = false;
    }
  }
}
