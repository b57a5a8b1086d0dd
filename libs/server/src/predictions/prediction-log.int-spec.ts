import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ServedVersion, Tensor } from '../engine/index.js';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv, uniqueId } from '@modelyard/testing';
import { PrismaService } from '../db/prisma.service.js';
import { createLogger } from '../platform/logger.js';
import { RedisService } from '../platform/redis.service.js';
import { PredictionLogShipper } from './prediction-log.js';
import { PredictionLogRepository } from './prediction-log.repository.js';
import { PredictionIngestService } from './prediction-ingest.service.js';

describe('prediction log: api -> Redis -> worker -> Postgres', () => {
  const cfg = loadWorkerConfig(integrationEnv());
  const log = createLogger(cfg.log, 'predlog-test');
  const redis = new RedisService(cfg);
  const db = new PrismaService(cfg);
  const repo = new PredictionLogRepository(db);
  const shipper = new PredictionLogShipper(redis, log);
  const ingest = new PredictionIngestService(redis, repo, log);
  before(() => db.pool.$connect());
  after(async () => {
    await redis.onModuleDestroy();
    await db.pool.$disconnect();
  });

  const model = uniqueId('logged');
  const sv = {
    model,
    version: 2,
    signature: { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2], columns: ['a', 'b'] }], outputs: [] },
  } as unknown as ServedVersion;
  const feeds = { x: new Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]) };
  const outputs = {
    label: new Tensor('int64', BigInt64Array.from([0n, 1n]), [2]),
    probabilities: new Tensor('float32', Float32Array.from([0.75, 0.25, 0.25, 0.75]), [2, 2]),
  };

  it('keeps every sampled request as feature records and outputs per row', async () => {
    for (let i = 0; i < 5; i++) shipper.maybeLog(1, sv, 'production', false, feeds, outputs, 0.3);
    shipper.maybeLog(1, sv, 'silent', true, feeds, outputs, 0.4);
    shipper.maybeLog(0, sv, 'production', false, feeds, outputs, 0.3); // rate 0: never
    await shipper.flush();
    const r = await ingest.handle({}, { jobId: 't', attempt: 1, maxAttempts: 1, updateProgress: async () => {} });
    assert.ok(r.stored >= 6);
    const rows = await repo.recent(model, 2, 100);
    assert.equal(rows.length, 6);
    assert.deepEqual(rows[0]!.features, [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ]);
    assert.deepEqual(rows[0]!.outputs, [
      { label: 0, probabilities: [0.75, 0.25] },
      { label: 1, probabilities: [0.25, 0.75] },
    ]);
    assert.equal(rows.filter((x) => x.silent).length, 1);
    // Drained: a second run finds nothing of ours.
    await ingest.handle({}, { jobId: 't', attempt: 1, maxAttempts: 1, updateProgress: async () => {} });
    assert.equal((await repo.recent(model, 2, 100)).length, 6);
  });

  it('samples at roughly the configured rate', () => {
    const before = (shipper as unknown as { batch: string[] }).batch.length;
    for (let i = 0; i < 4000; i++) shipper.maybeLog(0.05, sv, 'production', false, feeds, outputs, 0.1);
    const n = (shipper as unknown as { batch: string[] }).batch.length - before;
    assert.ok(n > 120 && n < 300, `sampled ${n} of 4000 at 5%`);
  });
});
