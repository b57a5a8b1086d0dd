import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JobPayloadParsed } from '@modelyard/contracts';
import { LOGGER } from '../platform/tokens.js';
import { RedisService } from '../platform/redis.service.js';
import type { JobContext, JobHandler } from '../queue/job-handler.js';
import { PREDICTION_LOG_LIST, type PredictionLogEntry } from './prediction-log.js';
import { PredictionLogRepository, type PredictionLogRow } from './prediction-log.repository.js';
import { asJson } from '../db/json.js';

const CHUNK = 2000;
const MAX_PER_RUN = 50_000;
/** A claim older than this belongs to a worker that died (storing a chunk takes well under a second). */
export const CLAIM_STALE_MS = 120_000;
/** Chunk ids are kept this long: far past any claim's life, so a late takeover still finds its chunk stored. */
const CHUNK_MEMORY_MS = 24 * 3600_000;

/**
 * Moves up to ARGV[1] entries off the head of the list (KEYS[1]) into the claim's own list (KEYS[3]) and records
 * the claim with the time (ARGV[2]) in the claims set (KEYS[2]), in one step: entries are always somewhere.
 */
const CLAIM = `
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
redis.call('RPUSH', KEYS[3], unpack(items))
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[3])
return items`;

/** Takes over a claim (KEYS[2]) recorded before ARGV[1]: its time becomes ARGV[2] and its entries are returned. */
const TAKE_OVER = `
local at = redis.call('ZSCORE', KEYS[1], KEYS[2])
if not at or tonumber(at) >= tonumber(ARGV[1]) then return false end
redis.call('ZADD', KEYS[1], ARGV[2], KEYS[2])
return redis.call('LRANGE', KEYS[2], 0, -1)`;

export interface LogChunk {
  /** The claim's id: the chunk's primary key in Postgres once its rows are stored. */
  id: string;
  items: string[];
}

/**
 * The worker's half of the prediction log: drain the Redis list into Postgres, each row once. A chunk is claimed
 * (moved into a list of its own, atomically), its rows and its id are committed in one transaction, then the claim
 * is released. A worker that dies between claim and release leaves the claim behind: past CLAIM_STALE_MS the next
 * run takes it over and stores it, and the chunk id makes the second store a no-op if the first had committed.
 */
@Injectable()
export class PredictionIngestService implements JobHandler<'predictions.ingest'> {
  readonly job = 'predictions.ingest' as const;

  constructor(
    private readonly redis: RedisService,
    private readonly repo: PredictionLogRepository,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async handle(_payload: JobPayloadParsed<'predictions.ingest'>, _ctx: JobContext) {
    let stored = 0;
    let skipped = 0;
    const add = (r: { stored: number; skipped: number }) => {
      stored += r.stored;
      skipped += r.skipped;
    };
    for (const chunk of await this.takeOverStale(Date.now() - CLAIM_STALE_MS)) {
      // A chunk that cannot be stored (Postgres down) stays claimed and is taken over again later; the run goes on.
      await this.store(chunk).then(add, (err: unknown) =>
        this.log.warn({ err, chunk: chunk.id }, 'prediction log chunk left for a later run'),
      );
    }
    while (stored + skipped < MAX_PER_RUN) {
      const chunk = await this.claim(CHUNK);
      if (!chunk) break;
      add(await this.store(chunk));
    }
    await this.repo.forgetChunksBefore(new Date(Date.now() - CHUNK_MEMORY_MS));
    if (stored || skipped) this.log.info({ stored, skipped }, 'prediction log ingested');
    return { stored, skipped };
  }

  /** Up to `n` entries off the head of the list, now this run's; null when the list is empty. */
  async claim(n: number): Promise<LogChunk | null> {
    const id = randomUUID();
    const items = (await this.redis.client.eval(
      CLAIM,
      3,
      this.list,
      this.claims,
      this.claimKey(id),
      n,
      Date.now(),
    )) as string[];
    return items.length ? { id, items } : null;
  }

  /** Claims recorded before `staleBefore` (their worker died holding them), now this run's. */
  async takeOverStale(staleBefore: number): Promise<LogChunk[]> {
    const keys = await this.redis.client.zrangebyscore(this.claims, '-inf', `(${staleBefore}`);
    const out: LogChunk[] = [];
    for (const key of keys) {
      const items = (await this.redis.client.eval(TAKE_OVER, 2, this.claims, key, staleBefore, Date.now())) as
        string[] | null;
      if (items) out.push({ id: key.slice(this.claimKey('').length), items });
    }
    return out;
  }

  /** The chunk's rows and its id in one transaction, then the claim released; stored 0 if it was stored before. */
  async store(chunk: LogChunk): Promise<{ stored: number; skipped: number }> {
    const rows = chunk.items.map(rowOf);
    const valid = rows.filter((r): r is PredictionLogRow => r !== null);
    const first = await this.repo.insertChunk(chunk.id, valid);
    await this.redis.client.multi().del(this.claimKey(chunk.id)).zrem(this.claims, this.claimKey(chunk.id)).exec();
    return first ? { stored: valid.length, skipped: rows.length - valid.length } : { stored: 0, skipped: 0 };
  }

  private get list() {
    return this.redis.key(PREDICTION_LOG_LIST);
  }
  private get claims() {
    return this.redis.key(PREDICTION_LOG_LIST, 'claims');
  }
  private claimKey(id: string) {
    return this.redis.key(PREDICTION_LOG_LIST, 'claim', id);
  }
}

/**
 * One entry as a row; null when it is not JSON or not an entry's shape (it came through Redis: it is not trusted,
 * and one bad entry must not fail its chunk's insert).
 */
export function rowOf(item: string): PredictionLogRow | null {
  try {
    const e = JSON.parse(item) as PredictionLogEntry;
    const ok =
      typeof e?.model === 'string' &&
      Number.isInteger(e.version) &&
      typeof e.role === 'string' &&
      Number.isFinite(e.latencyMs) &&
      !Number.isNaN(new Date(e.at).getTime());
    if (!ok) return null;
    return {
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
    };
  } catch {
    return null;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A value of the wrong shape is dropped rather than failing the whole chunk. */
const validUuid = (v: unknown) => (typeof v === 'string' && UUID.test(v) ? v : null);
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
