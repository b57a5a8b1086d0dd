import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JobPayloadParsed } from '@modelyard/contracts';
import { LOGGER } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { PREDICTION_LOG_LIST, type PredictionLogEntry } from './prediction-log.js';
import { PredictionLogRepository } from './prediction-log.repository.js';
import { asJson } from '../db/json.js';

const CHUNK = 2000;
const MAX_PER_RUN = 50_000;

/** The worker's half of the prediction log: drain the Redis list in chunks into Postgres. */
@Injectable()
export class PredictionIngestService implements JobHandler<'predictions.ingest'> {
  readonly job = 'predictions.ingest' as const;

  constructor(
    private readonly redis: RedisService,
    private readonly repo: PredictionLogRepository,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle(_payload: JobPayloadParsed<'predictions.ingest'>, _ctx: JobContext) {
    const key = this.redis.key(PREDICTION_LOG_LIST);
    let stored = 0;
    let skipped = 0;
    while (stored + skipped < MAX_PER_RUN) {
      // LPOP with a count is atomic: two workers never take the same entries.
      const items = (await this.redis.client.lpop(key, CHUNK)) as string[] | null;
      if (!items?.length) break;
      const rows = [];
      for (const item of items) {
        try {
          const e = JSON.parse(item) as PredictionLogEntry;
          rows.push({
            model: e.model,
            version: e.version,
            role: e.role,
            silent: e.silent,
            at: new Date(e.at),
            features: asJson(e.features),
            outputs: asJson(e.outputs),
            latencyMs: e.latencyMs,
            predictionId: validUuid(e.predictionId),
            entityIds: strings(e.entityIds),
            callerGroups: strings(e.callerGroups),
          });
        } catch {
          skipped++;
        }
      }
      await this.repo.insertMany(rows);
      stored += rows.length;
    }
    if (stored || skipped) this.log.info({ stored, skipped }, 'prediction log ingested');
    return { stored, skipped };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The entry came through Redis: a value of the wrong shape is dropped rather than failing the whole chunk. */
const validUuid = (v: unknown) => (typeof v === 'string' && UUID.test(v) ? v : null);
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
