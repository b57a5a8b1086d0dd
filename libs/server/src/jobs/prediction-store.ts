import { Injectable } from '@nestjs/common';
import { RedisService } from '../platform/redis.service.js';
import type { StoredRow } from './batch-scorer.js';

export interface StoredPrediction {
  version: number;
  prediction: unknown;
  probabilities?: Record<string, number>;
  jobId: string;
  storedAt: string;
}

/**
 * Batch predictions keyed by entity id, one Redis hash per model: a lookup is one HGET, so the API answers in
 * microseconds of server time. The latest job to write an entity wins. Redis must run with `noeviction`
 * (an evicted hash would silently turn every lookup into a live prediction).
 */
@Injectable()
export class PredictionStore {
  constructor(private readonly redis: RedisService) {}

  async write(model: string, version: number, jobId: string, rows: StoredRow[]): Promise<void> {
    if (!rows.length) return;
    const storedAt = new Date().toISOString();
    const args: string[] = [];
    for (const r of rows) {
      args.push(
        r.entityId,
        JSON.stringify({
          version,
          prediction: r.prediction,
          probabilities: r.probabilities,
          jobId,
          storedAt,
        } satisfies StoredPrediction),
      );
    }
    await this.redis.client.hset(this.key(model), ...args);
  }

  async get(model: string, entityId: string): Promise<StoredPrediction | null> {
    const v = await this.redis.client.hget(this.key(model), entityId);
    return v === null ? null : (JSON.parse(v) as StoredPrediction);
  }

  async drop(model: string): Promise<void> {
    await this.redis.client.del(this.key(model));
  }

  private key(model: string) {
    return this.redis.key('pstore', model);
  }
}
